/*
 * ferry lab workload: one stage of a producer -> transformer -> sink pipeline.
 *
 * Each stage keeps state that only survives a migration if memory moves:
 *   - a monotonically increasing counter (ticks) and a random run id;
 *   - a ballast of BALLAST_MB megabytes filled from a seed, with a checksum;
 *   - for senders, the window of items not yet acknowledged downstream.
 *
 * Items travel over UDP on 127.0.0.1 (the containers share their host's
 * network namespace) with sequence numbers, cumulative acks and go-back-N
 * retransmission. Unconnected UDP sockets checkpoint without
 * --tcp-established, and while the group is split across hosts during a
 * migration the sender simply retransmits until its peer is back on the
 * same host. The receiver accepts only seq == last + 1, so an item is
 * never delivered twice, and a restarted sender (new run id) is counted.
 *
 * Status is written atomically to /state/status every 200 ms as key=value
 * lines, and `workload status` prints it. Static, no libc beyond what
 * glibc's static archive carries.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
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

#define WINDOW 256
#define STATUS_DIR "/state"
#define STATUS_PATH STATUS_DIR "/status"

struct item {
  uint64_t run_id; /* sender's run id */
  uint64_t seq;    /* 1, 2, 3, ... per sender */
  uint64_t value;  /* payload; the sink checks value == f(seq) */
};

struct ack {
  uint64_t run_id; /* receiver's run id */
  uint64_t upto;   /* cumulative: every seq <= upto was accepted */
};

enum role { PRODUCER, TRANSFORMER, SINK };

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

static uint64_t splitmix(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/* FNV-1a over 64-bit words: cheap enough to recompute every few seconds. */
static uint64_t checksum(const uint64_t *p, size_t words) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (size_t i = 0; i < words; i++) {
    h ^= p[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}

static uint64_t transform(uint64_t v) { return v * 3 + 7; }
static uint64_t produce(uint64_t seq) { return seq * 1000003ULL; }

static int udp_socket(int port) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    perror("socket");
    exit(1);
  }
  if (port > 0) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) {
      fprintf(stderr, "bind 127.0.0.1:%d: %s\n", port, strerror(errno));
      exit(1);
    }
  }
  return fd;
}

static void send_to(int fd, int port, const void *buf, size_t len) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  /* ECONNREFUSED/EAGAIN are expected while the peer is away */
  (void)sendto(fd, buf, len, 0, (struct sockaddr *)&a, sizeof a);
}

static int env_int(const char *name, int def) {
  const char *v = getenv(name);
  return v && *v ? atoi(v) : def;
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

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "status") == 0) return print_status();
  if (argc < 2) {
    fprintf(stderr, "usage: workload producer|transformer|sink|status\n"
                    "env: BALLAST_MB (64), RATE items/s (20), IN_PORT, OUT_PORT, TRANSFORMS (1)\n");
    return 2;
  }
  enum role role;
  if (strcmp(argv[1], "producer") == 0) role = PRODUCER;
  else if (strcmp(argv[1], "transformer") == 0) role = TRANSFORMER;
  else if (strcmp(argv[1], "sink") == 0) role = SINK;
  else {
    fprintf(stderr, "unknown role %s\n", argv[1]);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  setvbuf(stdout, NULL, _IOLBF, 0);

  int ballast_mb = env_int("BALLAST_MB", 64);
  int rate = env_int("RATE", 20);
  int in_port = env_int("IN_PORT", 0);
  int out_port = env_int("OUT_PORT", 0);
  int transforms = env_int("TRANSFORMS", 1); /* transformers between producer and sink */
  if (role != PRODUCER && in_port <= 0) {
    fprintf(stderr, "IN_PORT is required for %s\n", argv[1]);
    return 2;
  }
  if (role != SINK && out_port <= 0) {
    fprintf(stderr, "OUT_PORT is required for %s\n", argv[1]);
    return 2;
  }

  uint64_t seed = (uint64_t)wall_ms() ^ ((uint64_t)getpid() << 32);
  uint64_t run_id = splitmix(&seed);
  size_t words = (size_t)ballast_mb * 1024 * 1024 / 8;
  uint64_t *ballast = malloc(words ? words * 8 : 8);
  if (!ballast) {
    fprintf(stderr, "cannot allocate %d MB ballast\n", ballast_mb);
    return 1;
  }
  uint64_t fill = run_id;
  for (size_t i = 0; i < words; i++) ballast[i] = splitmix(&fill);
  uint64_t ballast_sum = checksum(ballast, words);
  uint64_t ballast_check = ballast_sum;
  mkdir(STATUS_DIR, 0755);

  int in_fd = role != PRODUCER ? udp_socket(in_port) : -1;
  int out_fd = role != SINK ? udp_socket(0) : -1;

  /* receiver side */
  uint64_t upstream_run = 0, accepted = 0, last_seq = 0, dups = 0, bad_values = 0,
           upstream_restarts = 0, value_sum = 0;
  /* sender side */
  struct item window[WINDOW];
  uint64_t next_seq = 1, acked = 0, downstream_run = 0, downstream_restarts = 0,
           sent_total = 0;
  uint64_t ticks = 0;
  uint64_t started = wall_ms();
  uint64_t last_tick = now_ms(), last_status = 0, last_resend = 0, last_check = now_ms();
  uint64_t tick_ms = rate > 0 ? 1000 / (uint64_t)rate : 1000;
  if (tick_ms == 0) tick_ms = 1;

  printf("%s run_id=%016llx ballast_mb=%d checksum=%016llx\n", argv[1],
         (unsigned long long)run_id, ballast_mb, (unsigned long long)ballast_sum);

  for (;;) {
    struct pollfd pfds[2];
    int n = 0;
    if (in_fd >= 0) pfds[n++] = (struct pollfd){.fd = in_fd, .events = POLLIN};
    if (out_fd >= 0) pfds[n++] = (struct pollfd){.fd = out_fd, .events = POLLIN};
    (void)poll(pfds, (nfds_t)n, 20);
    uint64_t t = now_ms();

    /* acks from downstream */
    if (out_fd >= 0) {
      struct ack a;
      while (recv(out_fd, &a, sizeof a, 0) == (ssize_t)sizeof a) {
        if (downstream_run && a.run_id != downstream_run) downstream_restarts++;
        downstream_run = a.run_id;
        if (a.upto > acked && a.upto < next_seq) acked = a.upto;
      }
    }

    /* items from upstream */
    if (in_fd >= 0) {
      struct item it;
      struct sockaddr_in from;
      socklen_t fl = sizeof from;
      while (recvfrom(in_fd, &it, sizeof it, 0, (struct sockaddr *)&from, &fl) ==
             (ssize_t)sizeof it) {
        if (upstream_run && it.run_id != upstream_run) {
          /* a restarted sender begins at seq 1 again: count it, never hide it */
          upstream_restarts++;
          last_seq = 0;
        }
        upstream_run = it.run_id;
        int can_forward = role == SINK || next_seq - acked <= WINDOW - 1;
        if (it.seq == last_seq + 1 && can_forward) {
          if (role == SINK) {
            uint64_t expect = produce(it.seq);
            for (int k = 0; k < transforms; k++) expect = transform(expect);
            if (it.value != expect) bad_values++;
          }
          last_seq = it.seq;
          accepted++;
          value_sum += it.value;
          if (role == TRANSFORMER) {
            struct item o = {run_id, next_seq, transform(it.value)};
            window[next_seq % WINDOW] = o;
            send_to(out_fd, out_port, &o, sizeof o);
            sent_total++;
            next_seq++;
          }
        } else if (it.seq <= last_seq) {
          dups++; /* a retransmission we already have: discarded */
        }
        struct ack a = {run_id, last_seq};
        (void)sendto(in_fd, &a, sizeof a, 0, (struct sockaddr *)&from, fl);
        fl = sizeof from;
      }
    }

    /* the counter, and new items at RATE while the window has room; after a
       restore the monotonic clock has jumped, so do not replay the gap */
    if (t - last_tick > 1000) last_tick = t - tick_ms;
    while (t - last_tick >= tick_ms) {
      last_tick += tick_ms;
      ticks++;
      if (role == PRODUCER && next_seq - acked <= WINDOW - 1) {
        struct item o = {run_id, next_seq, produce(next_seq)};
        window[next_seq % WINDOW] = o;
        send_to(out_fd, out_port, &o, sizeof o);
        sent_total++;
        next_seq++;
      }
    }

    /* go-back-N: resend everything unacknowledged */
    if (out_fd >= 0 && acked + 1 < next_seq && t - last_resend >= 250) {
      last_resend = t;
      for (uint64_t s = acked + 1; s < next_seq; s++)
        send_to(out_fd, out_port, &window[s % WINDOW], sizeof window[0]);
    }

    /* recompute the ballast checksum from memory every 2 s */
    if (t - last_check >= 2000) {
      last_check = t;
      ballast_check = checksum(ballast, words);
    }

    if (t - last_status >= 200) {
      last_status = t;
      char buf[1024];
      int len = snprintf(
          buf, sizeof buf,
          "role=%s\nrun_id=%016llx\npid=%d\nticks=%llu\nstarted_ms=%llu\nupdated_ms=%llu\n"
          "ballast_mb=%d\nballast_checksum=%016llx\nballast_recomputed=%016llx\n"
          "sent=%llu\nnext_seq=%llu\nacked=%llu\ndownstream_restarts=%llu\n"
          "accepted=%llu\nlast_seq=%llu\nduplicates_discarded=%llu\nbad_values=%llu\n"
          "upstream_restarts=%llu\nvalue_sum=%llu\n",
          argv[1], (unsigned long long)run_id, (int)getpid(), (unsigned long long)ticks,
          (unsigned long long)started, (unsigned long long)wall_ms(), ballast_mb,
          (unsigned long long)ballast_sum, (unsigned long long)ballast_check,
          (unsigned long long)sent_total, (unsigned long long)next_seq,
          (unsigned long long)acked, (unsigned long long)downstream_restarts,
          (unsigned long long)accepted, (unsigned long long)last_seq,
          (unsigned long long)dups, (unsigned long long)bad_values,
          (unsigned long long)upstream_restarts, (unsigned long long)value_sum);
      int fd = open(STATUS_DIR "/.status.tmp", O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) {
        (void)!write(fd, buf, (size_t)len);
        close(fd);
        rename(STATUS_DIR "/.status.tmp", STATUS_PATH);
      }
    }
  }
}
