/*
 * act.c - run_act: the one place an action reaches the farm, whoever asked
 * for it (a timeline entry, a Lua method, later a control socket).
 */
#include "harness/run/act.h"
#include "harness/clients/client.h"
#include "harness/farm/remote.h"
#include "harness/record/history.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *run_verb_name(enum run_verb v)
{
	static const char *const names[] = {
		[RUN_NONE] = "none",	       [RUN_INJECT] = "inject",	    [RUN_CAPACITY] = "capacity",
		[RUN_HEAL] = "heal",	       [RUN_STOP] = "stop",	    [RUN_START] = "start",
		[RUN_CRASH] = "crash",	       [RUN_RESTART] = "restart",   [RUN_RELOAD] = "reload",
		[RUN_PUBLISH] = "publish",     [RUN_SOURCE_STOP] = "stop",  [RUN_SOURCE_START] = "start",
		[RUN_REMOVE] = "remove",       [RUN_RESTORE] = "restore",   [RUN_RATE] = "rate",
		[RUN_SUSPEND] = "hang",	       [RUN_RESUME] = "continue",   [RUN_KILL] = "kill",
		[RUN_REMOTE_PUBLISH] = "publish",
	};
	return (unsigned)v < sizeof names / sizeof names[0] && names[v] ? names[v] : "?";
}

const char *run_action_target(const struct run_action *a)
{
	if (a->resolver)
		return farm_resolver_name(a->resolver);
	if (a->source)
		return farm_source_name(a->source);
	if (a->vip)
		return farm_vip_name(a->vip);
	if (a->client)
		return client_name(a->client);
	if (a->process)
		return farm_process_name(a->process);
	if (a->remote)
		return farm_remote_name(a->remote);
	return "?";
}

void run_action_clear(struct run_action *a)
{
	if (!a)
		return;
	farm_boot_clear(&a->boot);
	zone_version_unref(a->zone);
	zone_set_destroy(a->fault.wrong_zones);
	free(a->path);
	memset(a, 0, sizeof *a);
}

void run_action_move(struct run_action *dst, struct run_action *src)
{
	*dst = *src;
	memset(src, 0, sizeof *src);
}

static const char *verb(const struct run_action *a)
{
	if (a->verb == RUN_INJECT)
		return fault_kind_name(a->fault.kind);
	return run_verb_name(a->verb);
}

/* A failure the run cannot go on from: stopped as failed, as at its start. */
static int failed(struct run_env *r, const struct run_action *a, char *err, size_t errlen,
		  const char *why)
{
	env_fail(r, "%s: %s: %s", run_action_target(a), verb(a), why);
	snprintf(err, errlen, "%s: %s", verb(a), why);
	return RUN_ACT_FAILED;
}

static int inject(struct run_env *r, const struct run_action *a, struct run_result *res, char *err,
		  size_t errlen)
{
	struct fault_spec spec = a->fault;
	spec.wrong_zones = NULL;
	if (spec.kind == FAULT_WRONG && a->boot.nzones) {
		spec.wrong_zones = zone_set_create();
		if (!spec.wrong_zones || zone_set_add(spec.wrong_zones, a->boot.zones[0], true) != 0) {
			zone_set_destroy(spec.wrong_zones);
			return failed(r, a, err, errlen, "out of memory");
		}
	}
	uint32_t id = farm_resolver_inject(a->resolver, &spec, a->duration);
	if (!id) {
		zone_set_destroy(spec.wrong_zones);
		return failed(r, a, err, errlen, "out of memory");
	}
	res->fault_id = id;
	return RUN_ACT_OK;
}

/* An action on a managed daemon (farm/process.c). */
static int process_act(struct run_env *r, const struct run_action *a, struct run_result *res,
		       char *err, size_t errlen)
{
	char why[8192];
	struct zone_version *zone = a->has_boot && a->boot.nzones ? a->boot.zones[0] : NULL;
	why[0] = '\0';
	switch (a->verb) {
	case RUN_SUSPEND:
		res->fault_id = farm_process_hang(a->process, a->duration);
		if (!res->fault_id) {
			snprintf(err, errlen, "hang: %s is not running", farm_process_name(a->process));
			return RUN_ACT_REFUSED;
		}
		return RUN_ACT_OK;
	case RUN_RESUME:
		res->healed = farm_process_continue(a->process);
		return RUN_ACT_OK;
	case RUN_KILL:
	case RUN_STOP:
		farm_process_stop(a->process, a->verb == RUN_KILL ? "kill" : "stop");
		return RUN_ACT_OK;
	case RUN_START:
		if (farm_process_start(a->process, zone, false, why, sizeof why) != 0)
			return failed(r, a, err, errlen, why);
		return RUN_ACT_OK;
	case RUN_RESTART:
		if (farm_process_restart(a->process, zone, why, sizeof why) != 0)
			return failed(r, a, err, errlen, why);
		return RUN_ACT_OK;
	default:
		break;
	}
	snprintf(err, errlen, "%s is not an action on a process", run_verb_name(a->verb));
	return RUN_ACT_REFUSED;
}

/*
 * An action on a remote daemon (farm/remote.h): sent over its control
 * connection; what the daemon answers is recorded when it comes.
 */
static int remote_act(const struct run_action *a, struct run_result *res, char *err,
		      size_t errlen)
{
	switch (a->verb) {
	case RUN_INJECT:
		res->fault_id = farm_remote_inject(a->remote, &a->fault, a->duration);
		break;
	case RUN_CAPACITY:
		res->fault_id = farm_remote_capacity(a->remote, a->qps, a->queue, a->duration);
		break;
	case RUN_STOP:
		res->fault_id = farm_remote_stop(a->remote, a->duration);
		break;
	case RUN_START:
		farm_remote_start_dns(a->remote);
		return RUN_ACT_OK;
	case RUN_HEAL:
		farm_remote_heal(a->remote, a->fault_id);
		return RUN_ACT_OK;
	case RUN_REMOTE_PUBLISH:
		farm_remote_publish(a->remote, a->path);
		return RUN_ACT_OK;
	default:
		snprintf(err, errlen, "%s is not an action on a remote daemon",
			 run_verb_name(a->verb));
		return RUN_ACT_REFUSED;
	}
	if (res->fault_id)
		return RUN_ACT_OK;
	snprintf(err, errlen, "out of memory"); /* the run is stopped already (env_fail) */
	return RUN_ACT_FAILED;
}

/* A client's new rate: a `rate` line (docs/history.md), so a replay can repeat the load. */
static void record_rate(struct run_env *r, const struct run_action *a)
{
	struct history *h = env_history(r);
	env_say(r, "%s: rate %g", client_name(a->client), a->rate);
	if (!h)
		return;
	history_begin(h, env_now(r), "rate");
	history_str(h, "client", client_name(a->client));
	history_double(h, "rate", a->rate, 3);
	history_end(h);
}

int run_act(struct run_env *r, const struct run_action *a, struct run_result *res, char *err,
	    size_t errlen)
{
	struct run_result unused;
	char why[256];
	int rc = 0;
	if (!res)
		res = &unused;
	memset(res, 0, sizeof *res);
	err[0] = '\0';
	why[0] = '\0';
	if (a->process)
		return process_act(r, a, res, err, errlen);
	if (a->remote)
		return remote_act(a, res, err, errlen);
	switch (a->verb) {
	case RUN_INJECT:
		return inject(r, a, res, err, errlen);
	case RUN_CAPACITY:
		res->fault_id = farm_resolver_capacity(a->resolver, a->qps, a->queue, a->duration);
		return res->fault_id ? RUN_ACT_OK : failed(r, a, err, errlen, "out of memory");
	case RUN_HEAL:
		res->healed = farm_resolver_heal(a->resolver, a->fault_id);
		return RUN_ACT_OK;
	case RUN_STOP:
		farm_resolver_stop(a->resolver, "stop");
		return RUN_ACT_OK;
	case RUN_START:
		rc = farm_resolver_start(a->resolver, a->has_boot ? &a->boot : NULL, why, sizeof why);
		return rc ? failed(r, a, err, errlen, why) : RUN_ACT_OK;
	case RUN_CRASH:
	case RUN_RESTART:
		rc = farm_resolver_crash(a->resolver, a->verb == RUN_CRASH ? a->down : 0,
					 a->has_boot ? &a->boot : NULL, why, sizeof why);
		return rc ? failed(r, a, err, errlen, why) : RUN_ACT_OK;
	case RUN_RELOAD:
		if (farm_resolver_reload(a->resolver, &a->boot, why, sizeof why) != 0) {
			snprintf(err, errlen, "reload: %s", why);
			return RUN_ACT_REFUSED;
		}
		return RUN_ACT_OK;
	case RUN_PUBLISH:
		if (farm_source_publish(a->source, a->zone, why, sizeof why) != 0) {
			snprintf(err, errlen, "publish: %s", why);
			return RUN_ACT_REFUSED;
		}
		return RUN_ACT_OK;
	case RUN_SOURCE_STOP:
		farm_source_stop(a->source);
		return RUN_ACT_OK;
	case RUN_SOURCE_START:
		if (farm_source_running(a->source))
			return RUN_ACT_OK;
		rc = farm_source_start(a->source, why, sizeof why);
		return rc ? failed(r, a, err, errlen, why) : RUN_ACT_OK;
	case RUN_REMOVE:
	case RUN_RESTORE:
		farm_vip_set_member(a->vip, a->backend, a->verb == RUN_RESTORE, "scenario");
		return RUN_ACT_OK;
	case RUN_RATE:
		if (!client_open_loop(a->client)) {
			snprintf(err, errlen, "%s:rate: the client runs closed loop (concurrency); give "
					      "it a rate to make it open loop",
				 client_name(a->client));
			return RUN_ACT_REFUSED;
		}
		client_set_rate(a->client, a->rate);
		record_rate(r, a);
		return RUN_ACT_OK;
	case RUN_NONE:
	case RUN_SUSPEND:
	case RUN_RESUME:
	case RUN_KILL:
	case RUN_REMOTE_PUBLISH:
		break;
	}
	snprintf(err, errlen, "no action");
	return RUN_ACT_REFUSED;
}
