/* lwIP's sys_arch types for the MPS2 AN386 board: one thread, no RTOS
 * (port/mps2/sys_arch.c). A semaphore is a counter; a mailbox a ring in a
 * static pool; a mutex has nothing to exclude. Every wait runs the stack
 * (xs2s_mps2_service()) until it is satisfied or times out. */
#ifndef XS2S_MPS2_SYS_ARCH_H
#define XS2S_MPS2_SYS_ARCH_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
	volatile uint32_t count;
	uint8_t valid;
} sys_sem_t;

typedef struct {
	uint8_t valid;
} sys_mutex_t;

typedef struct xs2s_mps2_mbox *sys_mbox_t;
typedef int sys_thread_t;
typedef uint32_t sys_prot_t;

#define sys_sem_valid(s) ((s)->valid != 0)
#define sys_sem_set_invalid(s) ((s)->valid = 0)
#define sys_mutex_valid(m) ((m)->valid != 0)
#define sys_mutex_set_invalid(m) ((m)->valid = 0)
#define sys_mbox_valid(m) (*(m) != NULL)
#define sys_mbox_set_invalid(m) (*(m) = NULL)

/* The board's one step of work: LAN9118 frames into lwIP, lwIP's timers,
 * console input; sleeps until the next interrupt when there was none. */
void xs2s_mps2_service(void);

#endif
