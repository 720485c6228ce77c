# sizes.c is not an object: it is compiled to assembly for xs2s_sizes.h.
firmware-objs-y += engine/engine.o engine/api.o engine/s2s.o engine/slots.o engine/status.o engine/admit.o engine/live.o
firmware-objs-$(CONFIG_XS2S_ACCOUNTS_PRESENCE) += engine/account_api.o
firmware-objs-$(CONFIG_XS2S_BIDI) += engine/bidi.o
firmware-objs-$(CONFIG_XS2S_POLICY) += engine/policy.o
