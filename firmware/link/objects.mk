firmware-objs-y += link/bufs.o link/certid.o link/link.o link/tls.o
