firmware-objs-y += lib/arena.o lib/bq.o lib/bufpool.o lib/crypto.o lib/errnames.o lib/evq.o lib/jid.o lib/log.o lib/names.o \
	lib/wbuf.o lib/build.o
