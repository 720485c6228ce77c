firmware-objs-y += link/certid.o link/link.o link/tls.o
