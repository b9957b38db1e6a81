/*
 * The FreeBSD headers zelle-sys binds (input of bindgen, see build.rs and README.md).
 * Order matters: several of them expect <sys/param.h> and <sys/types.h> first.
 * Every header here parses with ziglang's FreeBSD headers and with a FreeBSD system's
 * /usr/include. net/if_var.h is left out: outside the kernel it declares nothing zelle needs.
 */
#include <sys/param.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/ioctl.h>
#include <sys/sockio.h>
#include <sys/uio.h>
#include <sys/errno.h>
#include <sys/signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <sys/procctl.h>
/* sysctl kern.proc: the MIB names (sys/sysctl.h), struct kinfo_proc and the p_stat values SRUN... it carries (sys/proc.h). */
#include <sys/sysctl.h>
#include <sys/user.h>
/* struct winsize and the TIOC* requests of a pty. */
#include <sys/ttycom.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <sys/jail.h>
/* fs/devfs/devfs.h declares TAILQ_HEADs without including sys/queue.h itself. */
#include <sys/queue.h>
#include <fs/devfs/devfs.h>

#include <net/if.h>
#include <net/if_var.h>
#include <net/if_dl.h>
#include <net/if_bridgevar.h>
#include <net/route.h>
#include <netinet/in.h>
#include <netinet/in_var.h>
#include <netinet6/in6_var.h>
#include <netinet6/nd6.h>
#include <net/pfvar.h>

/*
 * ioctl request numbers as the C compiler computes them from these headers: SIOC* and DIOC* are
 * function-like macros that bindgen cannot expand, but it does evaluate constant initializers.
 * src/ioctl.rs computes the same numbers with const fns; tests/ioctl.rs checks that both agree.
 * DEVFSIO_* likewise (fs/devfs/devfs.h).
 * #ifdef: a release may lack one (FreeBSD 15 removed DIOCGETRULE in favour of DIOCGETRULENV).
 */
#ifdef SIOCIFCREATE2
static const unsigned long ZELLE_IOCTL_SIOCIFCREATE2 = SIOCIFCREATE2;
#endif
#ifdef SIOCIFDESTROY
static const unsigned long ZELLE_IOCTL_SIOCIFDESTROY = SIOCIFDESTROY;
#endif
#ifdef SIOCSIFNAME
static const unsigned long ZELLE_IOCTL_SIOCSIFNAME = SIOCSIFNAME;
#endif
#ifdef SIOCGIFFLAGS
static const unsigned long ZELLE_IOCTL_SIOCGIFFLAGS = SIOCGIFFLAGS;
#endif
#ifdef SIOCSIFFLAGS
static const unsigned long ZELLE_IOCTL_SIOCSIFFLAGS = SIOCSIFFLAGS;
#endif
#ifdef SIOCSIFMTU
static const unsigned long ZELLE_IOCTL_SIOCSIFMTU = SIOCSIFMTU;
#endif
#ifdef SIOCGIFMTU
static const unsigned long ZELLE_IOCTL_SIOCGIFMTU = SIOCGIFMTU;
#endif
#ifdef SIOCAIFADDR
static const unsigned long ZELLE_IOCTL_SIOCAIFADDR = SIOCAIFADDR;
#endif
#ifdef SIOCDIFADDR
static const unsigned long ZELLE_IOCTL_SIOCDIFADDR = SIOCDIFADDR;
#endif
#ifdef SIOCAIFADDR_IN6
static const unsigned long ZELLE_IOCTL_SIOCAIFADDR_IN6 = SIOCAIFADDR_IN6;
#endif
#ifdef SIOCDIFADDR_IN6
static const unsigned long ZELLE_IOCTL_SIOCDIFADDR_IN6 = SIOCDIFADDR_IN6;
#endif
#ifdef SIOCSDRVSPEC
static const unsigned long ZELLE_IOCTL_SIOCSDRVSPEC = SIOCSDRVSPEC;
#endif
#ifdef SIOCGDRVSPEC
static const unsigned long ZELLE_IOCTL_SIOCGDRVSPEC = SIOCGDRVSPEC;
#endif
#ifdef SIOCSIFVNET
static const unsigned long ZELLE_IOCTL_SIOCSIFVNET = SIOCSIFVNET;
#endif
#ifdef SIOCSIFRVNET
static const unsigned long ZELLE_IOCTL_SIOCSIFRVNET = SIOCSIFRVNET;
#endif
#ifdef DIOCXBEGIN
static const unsigned long ZELLE_IOCTL_DIOCXBEGIN = DIOCXBEGIN;
#endif
#ifdef DIOCXCOMMIT
static const unsigned long ZELLE_IOCTL_DIOCXCOMMIT = DIOCXCOMMIT;
#endif
#ifdef DIOCXROLLBACK
static const unsigned long ZELLE_IOCTL_DIOCXROLLBACK = DIOCXROLLBACK;
#endif
#ifdef DIOCBEGINADDRS
static const unsigned long ZELLE_IOCTL_DIOCBEGINADDRS = DIOCBEGINADDRS;
#endif
#ifdef DIOCADDADDR
static const unsigned long ZELLE_IOCTL_DIOCADDADDR = DIOCADDADDR;
#endif
#ifdef DIOCADDRULE
static const unsigned long ZELLE_IOCTL_DIOCADDRULE = DIOCADDRULE;
#endif
#ifdef DIOCGETRULES
static const unsigned long ZELLE_IOCTL_DIOCGETRULES = DIOCGETRULES;
#endif
#ifdef DIOCGETRULE
static const unsigned long ZELLE_IOCTL_DIOCGETRULE = DIOCGETRULE;
#endif
#ifdef DIOCGETRULESETS
static const unsigned long ZELLE_IOCTL_DIOCGETRULESETS = DIOCGETRULESETS;
#endif
#ifdef DIOCGETRULESET
static const unsigned long ZELLE_IOCTL_DIOCGETRULESET = DIOCGETRULESET;
#endif
#ifdef TIOCSWINSZ
static const unsigned long ZELLE_IOCTL_TIOCSWINSZ = TIOCSWINSZ;
#endif
#ifdef TIOCGWINSZ
static const unsigned long ZELLE_IOCTL_TIOCGWINSZ = TIOCGWINSZ;
#endif
#ifdef TIOCSCTTY
static const unsigned long ZELLE_IOCTL_TIOCSCTTY = TIOCSCTTY;
#endif
#ifdef TIOCGPTN
static const unsigned long ZELLE_IOCTL_TIOCGPTN = TIOCGPTN;
#endif
#ifdef DEVFSIO_RADD
static const unsigned long ZELLE_IOCTL_DEVFSIO_RADD = DEVFSIO_RADD;
#endif
#ifdef DEVFSIO_RDEL
static const unsigned long ZELLE_IOCTL_DEVFSIO_RDEL = DEVFSIO_RDEL;
#endif
#ifdef DEVFSIO_RAPPLY
static const unsigned long ZELLE_IOCTL_DEVFSIO_RAPPLY = DEVFSIO_RAPPLY;
#endif
#ifdef DEVFSIO_RAPPLYID
static const unsigned long ZELLE_IOCTL_DEVFSIO_RAPPLYID = DEVFSIO_RAPPLYID;
#endif
#ifdef DEVFSIO_RGETNEXT
static const unsigned long ZELLE_IOCTL_DEVFSIO_RGETNEXT = DEVFSIO_RGETNEXT;
#endif
#ifdef DEVFSIO_SUSE
static const unsigned long ZELLE_IOCTL_DEVFSIO_SUSE = DEVFSIO_SUSE;
#endif
#ifdef DEVFSIO_SAPPLY
static const unsigned long ZELLE_IOCTL_DEVFSIO_SAPPLY = DEVFSIO_SAPPLY;
#endif
#ifdef DEVFSIO_SGETNEXT
static const unsigned long ZELLE_IOCTL_DEVFSIO_SGETNEXT = DEVFSIO_SGETNEXT;
#endif
