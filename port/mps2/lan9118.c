/* SMSC LAN9118 Ethernet controller (as on the MPS2 board and in QEMU's model)
 * as an lwIP netif, polled: xs2s_mps2_service() calls
 * xs2s_mps2_lan9118_poll(), which moves every waiting frame from the
 * controller's RX FIFO into a pbuf and hands it to ethernet_input.
 *
 * Register map and FIFO formats: SMSC LAN9118 datasheet, sections 5.3
 * (TX command A/B), 5.4 (RX status), 5.3.x (system control and status
 * registers), 5.4.x (MAC control and status registers, reached indirectly
 * through MAC_CSR_CMD/MAC_CSR_DATA). */
#include <string.h>
#include "lwip/opt.h"
#include "lwip/etharp.h"
#include "lwip/ip4_addr.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "netif/ethernet.h"
#include "board.h"
#include "xs2s_err.h"

#define LAN_REG(off) (*(volatile uint32_t *)(MPS2_LAN9118_BASE + (off)))
#define RX_DATA_FIFO LAN_REG(0x00)
#define TX_DATA_FIFO LAN_REG(0x20)
#define RX_STATUS_FIFO LAN_REG(0x40)
#define TX_STATUS_FIFO LAN_REG(0x48)
#define ID_REV LAN_REG(0x50)
#define BYTE_TEST LAN_REG(0x64)
#define TX_CFG LAN_REG(0x70)
#define HW_CFG LAN_REG(0x74)
#define RX_FIFO_INF LAN_REG(0x7c)
#define TX_FIFO_INF LAN_REG(0x80)
#define PMT_CTRL LAN_REG(0x84)
#define MAC_CSR_CMD LAN_REG(0xa4)
#define MAC_CSR_DATA LAN_REG(0xa8)

#define BYTE_TEST_VALUE 0x87654321u
#define HW_CFG_SRST 1u
#define PMT_CTRL_READY 1u
#define TX_CFG_TX_ON 2u
#define TX_CFG_TXSAO 4u         /* TX status FIFO may overrun: nobody reads it */
#define MAC_CSR_BUSY 0x80000000u
#define MAC_CSR_READ 0x40000000u
#define MAC_CR 1u
#define MAC_ADDRH 2u
#define MAC_ADDRL 3u
#define MAC_CR_FDPX 0x00100000u
#define MAC_CR_TXEN 0x00000008u
#define MAC_CR_RXEN 0x00000004u
#define TX_CMD_A_FIRST 0x00002000u
#define TX_CMD_A_LAST 0x00001000u
#define RX_STS_ERROR 0x00008000u
#define RX_STS_LEN(s) (((s) >> 16) & 0x3fffu) /* frame length including the 4-byte FCS */
#define RX_FIFO_INF_PACKETS(v) (((v) >> 16) & 0xffu)
#define TX_FIFO_INF_FREE(v) ((v) & 0xffffu)

#define ETH_FRAME_MAX 1518u
#define ETH_FCS 4u
#define SPIN_MAX 100000u

/* One frame at a time in each direction; words, for the 32-bit FIFOs. */
static uint32_t frame_words[(ETH_FRAME_MAX + ETH_FCS + 3u) / 4u];

static int mac_csr_wait(void)
{
	unsigned spin = SPIN_MAX;

	while ((MAC_CSR_CMD & MAC_CSR_BUSY) && --spin)
		;
	return spin ? 0 : -1;
}

static uint32_t mac_read(uint32_t reg)
{
	mac_csr_wait();
	MAC_CSR_CMD = MAC_CSR_BUSY | MAC_CSR_READ | reg;
	mac_csr_wait();
	return MAC_CSR_DATA;
}

static void mac_write(uint32_t reg, uint32_t val)
{
	mac_csr_wait();
	MAC_CSR_DATA = val;
	MAC_CSR_CMD = MAC_CSR_BUSY | reg;
	mac_csr_wait();
}

static err_t lan_output(struct netif *nif, struct pbuf *p)
{
	uint32_t len = p->tot_len, words = (len + 3u) / 4u, i;
	unsigned spin = SPIN_MAX;

	(void)nif;
	if (len > ETH_FRAME_MAX)
		return ERR_BUF;
	/* Two command words, then the frame. */
	while (TX_FIFO_INF_FREE(TX_FIFO_INF) < words * 4u + 8u && --spin)
		;
	if (!spin)
		return ERR_MEM;
	frame_words[words - 1u] = 0;
	pbuf_copy_partial(p, frame_words, (u16_t)len, 0);
	TX_DATA_FIFO = TX_CMD_A_FIRST | TX_CMD_A_LAST | len;
	TX_DATA_FIFO = len; /* command B: packet tag 0, length */
	for (i = 0; i < words; i++)
		TX_DATA_FIFO = frame_words[i];
	return ERR_OK;
}

int xs2s_mps2_lan9118_poll(struct netif *nif)
{
	int frames = 0;

	while (RX_FIFO_INF_PACKETS(RX_FIFO_INF)) {
		uint32_t sts = RX_STATUS_FIFO, len = RX_STS_LEN(sts), words = (len + 3u) / 4u, i;
		struct pbuf *p;

		if (words > sizeof frame_words / 4u) {
			/* Never from the controller (it drops longer frames); drain it. */
			for (i = 0; i < words; i++)
				(void)RX_DATA_FIFO;
			continue;
		}
		for (i = 0; i < words; i++)
			frame_words[i] = RX_DATA_FIFO;
		if ((sts & RX_STS_ERROR) || len < ETH_FCS + 14u)
			continue;
		p = pbuf_alloc(PBUF_RAW, (u16_t)(len - ETH_FCS), PBUF_POOL);
		if (!p)
			continue; /* no receive buffer: dropped, TCP retransmits */
		pbuf_take(p, frame_words, (u16_t)(len - ETH_FCS));
		if (nif->input(p, nif) != ERR_OK)
			pbuf_free(p);
		frames++;
	}
	return frames;
}

static err_t lan_netif_init(struct netif *nif)
{
	uint32_t lo = mac_read(MAC_ADDRL), hi = mac_read(MAC_ADDRH);

	nif->name[0] = 'e';
	nif->name[1] = 'n';
	nif->hwaddr_len = ETH_HWADDR_LEN;
	nif->hwaddr[0] = (u8_t)lo;
	nif->hwaddr[1] = (u8_t)(lo >> 8);
	nif->hwaddr[2] = (u8_t)(lo >> 16);
	nif->hwaddr[3] = (u8_t)(lo >> 24);
	nif->hwaddr[4] = (u8_t)hi;
	nif->hwaddr[5] = (u8_t)(hi >> 8);
	nif->mtu = 1500;
	nif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET;
	nif->output = etharp_output;
	nif->linkoutput = lan_output;
	return ERR_OK;
}

/* "ADDR/PREFIX" -> address and netmask; 0 on success. */
static int parse_cidr(const char *cidr, ip4_addr_t *ip, ip4_addr_t *mask)
{
	char buf[24];
	const char *slash = strchr(cidr, '/');
	size_t n = slash ? (size_t)(slash - cidr) : strlen(cidr);
	unsigned prefix = 24;

	if (n >= sizeof buf)
		return -1;
	memcpy(buf, cidr, n);
	buf[n] = '\0';
	if (!ip4addr_aton(buf, ip))
		return -1;
	if (slash) {
		prefix = 0;
		for (const char *d = slash + 1; *d; d++) {
			if (*d < '0' || *d > '9')
				return -1;
			prefix = prefix * 10u + (unsigned)(*d - '0');
		}
		if (prefix > 32)
			return -1;
	}
	ip4_addr_set_u32(mask, lwip_htonl(prefix ? 0xffffffffu << (32u - prefix) : 0));
	return 0;
}

int xs2s_mps2_lan9118_attach(struct netif *nif, const char *ip4_cidr, const char *gw4)
{
	ip4_addr_t ip, mask, gw;
	unsigned spin = SPIN_MAX;

	if (BYTE_TEST != BYTE_TEST_VALUE)
		return XS2S_EIO; /* no LAN9118 at this address */
	HW_CFG = HW_CFG_SRST;
	while ((HW_CFG & HW_CFG_SRST) && --spin)
		;
	spin = SPIN_MAX;
	while (!(PMT_CTRL & PMT_CTRL_READY) && --spin)
		;
	if (!spin || parse_cidr(ip4_cidr, &ip, &mask) || !ip4addr_aton(gw4, &gw))
		return XS2S_EIO;
	/* Our address and broadcast only (no promiscuous mode), full duplex. */
	mac_write(MAC_CR, MAC_CR_FDPX | MAC_CR_TXEN | MAC_CR_RXEN);
	TX_CFG = TX_CFG_TX_ON | TX_CFG_TXSAO;
	if (!netif_add(nif, &ip, &mask, &gw, NULL, lan_netif_init, ethernet_input))
		return XS2S_EIO;
	netif_set_default(nif);
	netif_set_up(nif);
	netif_set_link_up(nif);
	xs2s_mps2_printf("lan9118: id %08lx, MAC %02x:%02x:%02x:%02x:%02x:%02x, %s gw %s\n", (unsigned long)ID_REV,
			 nif->hwaddr[0], nif->hwaddr[1], nif->hwaddr[2], nif->hwaddr[3], nif->hwaddr[4],
			 nif->hwaddr[5], ip4_cidr, gw4);
	return XS2S_OK;
}
