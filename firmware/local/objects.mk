firmware-objs-y += local/local.o
