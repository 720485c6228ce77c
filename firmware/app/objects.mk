firmware-objs-y += app/send.o app/deliver.o app/iq.o app/builtin.o app/inbox.o
# Device accounts (presence subscriptions) only with CONFIG_XS2S_ACCOUNTS_PRESENCE.
firmware-objs-$(CONFIG_XS2S_ACCOUNTS_PRESENCE) += app/account.o
