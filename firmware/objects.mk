# The engine's objects, OpenSBI-style: each folder lists its objects in its
# own objects.mk, selected by Kconfig symbols (obj-y always, obj-$(CONFIG_X)
# only when X is set), relative to firmware/.
firmware-objs-y :=
include $(wildcard firmware/*/objects.mk)
