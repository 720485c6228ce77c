/* lwIP's sys_arch without an RTOS: one thread, cooperative (MPS2 AN386).
 *
 * The sockets API (NO_SYS=0) needs semaphores, mailboxes and a core lock.
 * With LWIP_TCPIP_CORE_LOCKING every socket call runs lwIP's code directly
 * in the caller; nothing starts the tcpip thread (xs2s_lwip_init() calls
 * lwip_init(), not tcpip_init(), and input goes to ethernet_input, not
 * tcpip_input). What a thread would do while the caller waits - receive
 * frames, run lwIP's timers - the waits do themselves: every wait calls
 * xs2s_mps2_service() until its semaphore or mailbox is ready or its time
 * is up. Nothing here runs in an interrupt (SysTick only counts). */
#include <string.h>
#include "lwip/opt.h"
#include "lwip/err.h"
#include "lwip/sys.h"
#include "board.h"

/* Every netconn has a receive mailbox, a listener also an accept mailbox. */
#define MBOX_COUNT (MEMP_NUM_NETCONN + 2)
#define MBOX_CAP 16
_Static_assert(DEFAULT_TCP_RECVMBOX_SIZE <= MBOX_CAP && DEFAULT_UDP_RECVMBOX_SIZE <= MBOX_CAP &&
		       DEFAULT_ACCEPTMBOX_SIZE <= MBOX_CAP, "lwipopts.h: mailbox sizes above MBOX_CAP");

struct xs2s_mps2_mbox {
	void *msg[MBOX_CAP];
	uint8_t head, used, cap, busy;
};

static struct xs2s_mps2_mbox mbox_pool[MBOX_COUNT];

void sys_init(void)
{
}

u32_t sys_now(void)
{
	return xs2s_mps2_now_ms();
}

sys_prot_t sys_arch_protect(void)
{
	return 0; /* no interrupt handler touches lwIP */
}

void sys_arch_unprotect(sys_prot_t pval)
{
	(void)pval;
}

err_t sys_sem_new(sys_sem_t *sem, u8_t count)
{
	sem->count = count;
	sem->valid = 1;
	return ERR_OK;
}

void sys_sem_free(sys_sem_t *sem)
{
	sem->valid = 0;
}

void sys_sem_signal(sys_sem_t *sem)
{
	sem->count++;
}

/* lwIP's contract: timeout 0 waits forever; the time waited, or SYS_ARCH_TIMEOUT. */
u32_t sys_arch_sem_wait(sys_sem_t *sem, u32_t timeout)
{
	u32_t start = sys_now();

	while (!sem->count) {
		if (timeout && sys_now() - start >= timeout)
			return SYS_ARCH_TIMEOUT;
		xs2s_mps2_service();
	}
	sem->count--;
	return sys_now() - start;
}

err_t sys_mutex_new(sys_mutex_t *mutex)
{
	mutex->valid = 1;
	return ERR_OK;
}

void sys_mutex_lock(sys_mutex_t *mutex)
{
	(void)mutex; /* one thread */
}

void sys_mutex_unlock(sys_mutex_t *mutex)
{
	(void)mutex;
}

void sys_mutex_free(sys_mutex_t *mutex)
{
	mutex->valid = 0;
}

err_t sys_mbox_new(sys_mbox_t *mbox, int size)
{
	unsigned i;

	if (size <= 0 || size > MBOX_CAP)
		return ERR_MEM;
	for (i = 0; i < MBOX_COUNT; i++) {
		if (!mbox_pool[i].busy) {
			memset(&mbox_pool[i], 0, sizeof mbox_pool[i]);
			mbox_pool[i].busy = 1;
			mbox_pool[i].cap = (uint8_t)size;
			*mbox = &mbox_pool[i];
			return ERR_OK;
		}
	}
	xs2s_mps2_diag("sys_arch: all %u mailboxes in use\n", (unsigned)MBOX_COUNT);
	return ERR_MEM;
}

void sys_mbox_free(sys_mbox_t *mbox)
{
	(*mbox)->busy = 0;
}

err_t sys_mbox_trypost(sys_mbox_t *mbox, void *msg)
{
	struct xs2s_mps2_mbox *m = *mbox;

	if (m->used == m->cap)
		return ERR_MEM;
	m->msg[(m->head + m->used) % m->cap] = msg;
	m->used++;
	return ERR_OK;
}

err_t sys_mbox_trypost_fromisr(sys_mbox_t *mbox, void *msg)
{
	return sys_mbox_trypost(mbox, msg);
}

void sys_mbox_post(sys_mbox_t *mbox, void *msg)
{
	while (sys_mbox_trypost(mbox, msg) != ERR_OK)
		xs2s_mps2_service();
}

static void *mbox_take(struct xs2s_mps2_mbox *m)
{
	void *msg = m->msg[m->head];

	m->head = (uint8_t)((m->head + 1) % m->cap);
	m->used--;
	return msg;
}

u32_t sys_arch_mbox_fetch(sys_mbox_t *mbox, void **msg, u32_t timeout)
{
	struct xs2s_mps2_mbox *m = *mbox;
	u32_t start = sys_now();

	while (!m->used) {
		if (timeout && sys_now() - start >= timeout)
			return SYS_ARCH_TIMEOUT;
		xs2s_mps2_service();
	}
	void *got = mbox_take(m);
	if (msg)
		*msg = got;
	return sys_now() - start;
}

u32_t sys_arch_mbox_tryfetch(sys_mbox_t *mbox, void **msg)
{
	struct xs2s_mps2_mbox *m = *mbox;

	if (!m->used)
		return SYS_MBOX_EMPTY;
	void *got = mbox_take(m);
	if (msg)
		*msg = got;
	return 0;
}

/* Nothing may start a thread here: no tcpip thread (xs2s_lwip_init()). */
sys_thread_t sys_thread_new(const char *name, lwip_thread_fn thread, void *arg, int stacksize, int prio)
{
	(void)thread, (void)arg, (void)stacksize, (void)prio;
	xs2s_mps2_assert(name, __FILE__, __LINE__);
	return 0;
}
