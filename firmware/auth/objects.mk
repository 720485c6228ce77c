# A SASL-only device carries no dialback code, and the other way round.
firmware-objs-y += auth/auth.o
firmware-objs-$(CONFIG_XS2S_AUTH_SASL_EXTERNAL) += auth/sasl.o
firmware-objs-$(CONFIG_XS2S_AUTH_DIALBACK) += auth/dialback.o
