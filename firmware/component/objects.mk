# XEP-0114 components: not built at all without CONFIG_XS2S_COMPONENTS.
firmware-objs-$(CONFIG_XS2S_COMPONENTS) += component/component.o
