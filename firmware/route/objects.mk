firmware-objs-y += route/route.o
