/* Make Janus offer 127.0.0.1 as its only ICE candidate (bench/janus_server.py).

   Janus gathers host candidates from getifaddrs() and skips every interface flagged
   IFF_LOOPBACK (janus-gateway issues #586, #2251), so on its own it never offers 127.0.0.1.
   Loaded with LD_PRELOAD, this getifaddrs() returns the real list with two changes: the
   127.0.0.1 entry loses its IFF_LOOPBACK flag, and every other entry loses IFF_UP and
   IFF_RUNNING, which Janus (and libnice) read as "interface down, skip it". Entries are
   changed, never unlinked: glibc's freeifaddrs() frees the list as one block from its head.

   Build: gcc -shared -fPIC -O2 -o janus_loopback.so janus_loopback.c -ldl */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stddef.h>

static int is_loopback_v4(const struct ifaddrs *entry) {
    const struct sockaddr_in *address = (const struct sockaddr_in *)entry->ifa_addr;
    return address != NULL && address->sin_family == AF_INET &&
           address->sin_addr.s_addr == htonl(INADDR_LOOPBACK);
}

int getifaddrs(struct ifaddrs **list) {
    static int (*real_getifaddrs)(struct ifaddrs **) = NULL;
    if (real_getifaddrs == NULL) {
        real_getifaddrs = (int (*)(struct ifaddrs **))dlsym(RTLD_NEXT, "getifaddrs");
        if (real_getifaddrs == NULL) {
            return -1;
        }
    }
    int result = real_getifaddrs(list);
    if (result != 0) {
        return result;
    }
    for (struct ifaddrs *entry = *list; entry != NULL; entry = entry->ifa_next) {
        if (is_loopback_v4(entry)) {
            entry->ifa_flags &= ~IFF_LOOPBACK;
        } else {
            entry->ifa_flags &= ~(IFF_UP | IFF_RUNNING);
        }
    }
    return 0;
}
