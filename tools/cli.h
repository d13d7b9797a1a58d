/* SPDX-License-Identifier: MIT */
/*
 * The dmakit command: shared declarations of the subcommands. The CLI uses
 * only the public API (include/dmakit/); a library -errno becomes a message
 * on stderr and one of the exit statuses below.
 */
#ifndef DMAKIT_CLI_H
#define DMAKIT_CLI_H

/* Exit statuses, the same for every subcommand (documented in dmakit(1)). */
enum cli_exit {
	CLI_EXIT_OK = 0,      /* done */
	CLI_EXIT_FAILS = 1,   /* the VM or scenario fails */
	CLI_EXIT_USAGE = 2,   /* bad input or usage */
	CLI_EXIT_HOST = 3,    /* the host refuses (no VFIO, no permission, ...) */
};

struct cli_command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

int cmd_replay(int argc, char **argv);
int cmd_trace_gen(int argc, char **argv);
int cmd_probe(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_sim(int argc, char **argv);
int cmd_record(int argc, char **argv);
int cmd_inject(int argc, char **argv);
int cmd_analyze(int argc, char **argv);

/* "dmakit: <message>\n" on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The exit status for a library error from the host (open, ioctl). */
int cli_exit_for_host_error(int err);

#endif /* DMAKIT_CLI_H */
