firmware-objs-y += route/route.o
firmware-objs-$(CONFIG_XS2S_SM) += route/sm.o
