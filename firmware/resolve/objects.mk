# Without CONFIG_XS2S_DNS only the host map resolves peers: no DNS code.
firmware-objs-y += resolve/resolve.o
firmware-objs-$(CONFIG_XS2S_DNS) += resolve/dns.o
