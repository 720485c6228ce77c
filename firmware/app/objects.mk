firmware-objs-y += app/send.o app/deliver.o app/iq.o app/builtin.o app/inbox.o
