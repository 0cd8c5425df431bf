/*
 * ferry lab stack: the client and the web front of the compose sample
 * (scripts/labkit/stack/compose.yaml), beside redis-server as the store.
 *
 *   stackkit client   holds ONE TCP connection to the store for its whole life
 *                     and sends INCR at RATE/s, one request in flight. It counts
 *                     acknowledged writes and checks each reply is the last + 1.
 *                     It never reconnects: if the connection ends it records
 *                     why in its status and exits 3.
 *   stackkit web      HTTP on WEB_PORT (8080); each request resolves STORE by
 *                     name, opens a new connection and answers with the counter.
 *   stackkit status   prints the client's status (/state/status).
 *
 * Linked against the image's own glibc (names resolve through /etc/hosts and
 * the network's DNS, as the runtime sets them up).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define STATUS_DIR "/state"
#define STATUS_PATH STATUS_DIR "/status"

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *env_str(const char *name, const char *def) {
  const char *v = getenv(name);
  return v && *v ? v : def;
}

static int env_int(const char *name, int def) {
  const char *v = getenv(name);
  return v && *v ? atoi(v) : def;
}

/* a connected TCP socket to host:port, or -1 with the reason in err */
static int dial(const char *host, const char *port, char *err, size_t errlen) {
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res, *ai;
  int rc = getaddrinfo(host, port, &hints, &res);
  if (rc != 0) {
    snprintf(err, errlen, "resolve %s: %s", host, gai_strerror(rc));
    return -1;
  }
  int fd = -1;
  for (ai = res; ai; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd < 0) continue;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) break;
    snprintf(err, errlen, "connect %s:%s: %s", host, port, strerror(errno));
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  return fd;
}

static void addr_text(const struct sockaddr_storage *a, char *out, size_t len) {
  char ip[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  if (a->ss_family == AF_INET) {
    const struct sockaddr_in *s = (const void *)a;
    inet_ntop(AF_INET, &s->sin_addr, ip, sizeof ip);
    port = ntohs(s->sin_port);
  } else if (a->ss_family == AF_INET6) {
    const struct sockaddr_in6 *s = (const void *)a;
    inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof ip);
    port = ntohs(s->sin6_port);
  }
  snprintf(out, len, "%s:%d", ip, port);
}

static int print_status(void) {
  int fd = open(STATUS_PATH, O_RDONLY);
  if (fd < 0) {
    perror(STATUS_PATH);
    return 1;
  }
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) (void)!write(1, buf, (size_t)n);
  close(fd);
  return 0;
}

struct client {
  uint64_t run_id, started, acked, first_value, last_value, gaps, connects;
  char local[80], peer[80], state[32], reason[160];
};

static void write_status(const struct client *c) {
  char buf[1024];
  int len = snprintf(buf, sizeof buf,
                     "role=client\nrun_id=%016llx\npid=%d\nstate=%s\nreason=%s\nconnects=%llu\n"
                     "local=%s\npeer=%s\nacked=%llu\nfirst_value=%llu\nlast_value=%llu\n"
                     "gaps=%llu\nstarted_ms=%llu\nupdated_ms=%llu\n",
                     (unsigned long long)c->run_id, (int)getpid(), c->state, c->reason,
                     (unsigned long long)c->connects, c->local, c->peer,
                     (unsigned long long)c->acked, (unsigned long long)c->first_value,
                     (unsigned long long)c->last_value, (unsigned long long)c->gaps,
                     (unsigned long long)c->started, (unsigned long long)wall_ms());
  int fd = open(STATUS_DIR "/.status.tmp", O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return;
  (void)!write(fd, buf, (size_t)len);
  close(fd);
  rename(STATUS_DIR "/.status.tmp", STATUS_PATH);
}

static int run_client(void) {
  const char *host = env_str("STORE", "store");
  const char *port = env_str("STORE_PORT", "6379");
  const char *key = env_str("KEY", "counter");
  int rate = env_int("RATE", 20);
  uint64_t tick_ms = rate > 0 ? 1000 / (uint64_t)rate : 1000;
  if (tick_ms == 0) tick_ms = 1;
  struct client c = {.started = wall_ms()};
  c.run_id = c.started ^ ((uint64_t)getpid() << 40) ^ 0x9e3779b97f4a7c15ULL;
  mkdir(STATUS_DIR, 0755);
  strcpy(c.state, "connecting");

  /* the store may start after us (compose starts in parallel): wait for the
     first connection only, never for a second one */
  int fd = -1;
  for (int i = 0; fd < 0; i++) {
    fd = dial(host, port, c.reason, sizeof c.reason);
    if (fd >= 0) break;
    write_status(&c);
    if (i > 600) {
      fprintf(stderr, "client: %s\n", c.reason);
      return 2;
    }
    usleep(100000);
  }
  c.connects = 1;
  c.reason[0] = 0;
  struct sockaddr_storage a;
  socklen_t al = sizeof a;
  getsockname(fd, (struct sockaddr *)&a, &al);
  addr_text(&a, c.local, sizeof c.local);
  al = sizeof a;
  getpeername(fd, (struct sockaddr *)&a, &al);
  addr_text(&a, c.peer, sizeof c.peer);
  strcpy(c.state, "connected");
  printf("client run_id=%016llx local=%s peer=%s\n", (unsigned long long)c.run_id, c.local,
         c.peer);
  fflush(stdout);

  char req[256];
  int reqlen = snprintf(req, sizeof req, "INCR %s\r\n", key);
  char rbuf[256];
  size_t rlen = 0;
  int in_flight = 0;
  uint64_t last_tick = now_ms(), last_status = 0;
  for (;;) {
    uint64_t t = now_ms();
    if (!in_flight && t - last_tick >= tick_ms) {
      last_tick = t;
      if (write(fd, req, (size_t)reqlen) != reqlen) {
        snprintf(c.reason, sizeof c.reason, "write: %s", strerror(errno));
        break;
      }
      in_flight = 1;
    }
    struct pollfd p = {.fd = fd, .events = POLLIN};
    (void)poll(&p, 1, 20);
    if (p.revents) {
      ssize_t n = read(fd, rbuf + rlen, sizeof rbuf - 1 - rlen);
      if (n == 0) {
        snprintf(c.reason, sizeof c.reason, "the store closed the connection");
        break;
      }
      if (n < 0 && errno != EINTR && errno != EAGAIN) {
        snprintf(c.reason, sizeof c.reason, "read: %s", strerror(errno));
        break;
      }
      if (n > 0) rlen += (size_t)n;
      rbuf[rlen] = 0;
      char *nl;
      while ((nl = strstr(rbuf, "\r\n")) != NULL) {
        *nl = 0;
        if (rbuf[0] == ':') {
          uint64_t v = strtoull(rbuf + 1, NULL, 10);
          if (c.acked == 0) c.first_value = v;
          else if (v != c.last_value + 1) c.gaps++;
          c.last_value = v;
          c.acked++;
        } else {
          snprintf(c.reason, sizeof c.reason, "store answered: %.100s", rbuf);
        }
        in_flight = 0;
        size_t used = (size_t)(nl + 2 - rbuf);
        memmove(rbuf, rbuf + used, rlen - used + 1);
        rlen -= used;
      }
    }
    if (t - last_status >= 200) {
      last_status = t;
      write_status(&c);
    }
  }
  strcpy(c.state, "dropped");
  write_status(&c);
  fprintf(stderr, "client run_id=%016llx: connection lost after %llu acknowledged writes: %s\n",
          (unsigned long long)c.run_id, (unsigned long long)c.acked, c.reason);
  return 3;
}

/* one request: ask the store for the counter over a new connection */
static void serve(int cfd, const char *host, const char *port, const char *key) {
  char req[2048];
  struct pollfd p = {.fd = cfd, .events = POLLIN};
  if (poll(&p, 1, 2000) <= 0 || read(cfd, req, sizeof req - 1) <= 0) return;
  char body[512], err[160] = "";
  int code = 200;
  int s = dial(host, port, err, sizeof err);
  if (s < 0) {
    code = 502;
    snprintf(body, sizeof body, "ferry-stack store unreachable: %s\n", err);
  } else {
    char q[160], r[256];
    int ql = snprintf(q, sizeof q, "GET %s\r\n", key);
    ssize_t n = -1;
    struct pollfd sp = {.fd = s, .events = POLLIN};
    if (write(s, q, (size_t)ql) == ql && poll(&sp, 1, 2000) > 0) n = read(s, r, sizeof r - 1);
    close(s);
    if (n <= 0) {
      code = 502;
      snprintf(body, sizeof body, "ferry-stack store did not answer\n");
    } else {
      r[n] = 0;
      /* $N\r\nVALUE\r\n or $-1\r\n */
      char *v = strstr(r, "\r\n");
      char *end = v ? strstr(v + 2, "\r\n") : NULL;
      if (r[0] == '$' && v && end) {
        *end = 0;
        snprintf(body, sizeof body, "ferry-stack counter=%s\n", v + 2);
      } else {
        snprintf(body, sizeof body, "ferry-stack counter=none\n");
      }
    }
  }
  char out[1024];
  int ol = snprintf(out, sizeof out,
                    "HTTP/1.0 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
                    "Connection: close\r\n\r\n%s",
                    code, code == 200 ? "OK" : "Bad Gateway", strlen(body), body);
  (void)!write(cfd, out, (size_t)ol);
}

static int run_web(void) {
  const char *host = env_str("STORE", "store");
  const char *port = env_str("STORE_PORT", "6379");
  const char *key = env_str("KEY", "counter");
  int web_port = env_int("WEB_PORT", 8080);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(web_port)};
  if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 16) < 0) {
    fprintf(stderr, "web: listen :%d: %s\n", web_port, strerror(errno));
    return 1;
  }
  printf("web listening on :%d\n", web_port);
  fflush(stdout);
  for (;;) {
    int c = accept(fd, NULL, NULL);
    if (c < 0) continue;
    serve(c, host, port, key);
    close(c);
  }
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  if (argc > 1 && strcmp(argv[1], "status") == 0) return print_status();
  if (argc > 1 && strcmp(argv[1], "client") == 0) return run_client();
  if (argc > 1 && strcmp(argv[1], "web") == 0) return run_web();
  fprintf(stderr, "usage: stackkit client|web|status\n"
                  "env: STORE (store), STORE_PORT (6379), KEY (counter), RATE writes/s (20), "
                  "WEB_PORT (8080)\n");
  return 2;
}
