firmware-objs-y += app/send.o app/reply.o app/handlers.o app/deliver.o app/iq.o app/builtin.o app/inbox.o app/run.o
# Device accounts (presence subscriptions) only with CONFIG_XS2S_ACCOUNTS_PRESENCE.
firmware-objs-$(CONFIG_XS2S_ACCOUNTS_PRESENCE) += app/account.o
