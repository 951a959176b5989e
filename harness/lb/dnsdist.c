/*
 * dnsdist.c - the configuration handed to dnsdist, and its API's answer
 * read back (see dnsdist.h). Plain functions, no I/O.
 */
#include "harness/lb/dnsdist.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* s as a Lua string literal: "..." with \\, \" and control bytes as \ddd. */
static void lua_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\%03u", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

/* The health options of one generated newServer table. */
static void health_opts(FILE *f, const struct dnsdist_conf *c)
{
	fprintf(f, ", checkInterval = %u, checkTimeout = %u, maxCheckFailures = %u, rise = %u",
		c->check_interval_s, c->check_timeout_ms, c->fall, c->rise);
	fputs(", checkName = ", f);
	lua_str(f, c->check_name);
	fputs(", checkType = ", f);
	lua_str(f, c->check_type);
	fprintf(f, ", mustResolve = %s", c->must_resolve ? "true" : "false");
}

static void generated(FILE *f, const struct dnsdist_conf *c)
{
	for (size_t i = 0; i < c->n; i++) {
		const struct dnsdist_backend_conf *b = &c->b[i];
		fputs("do\n  local s = newServer({ address = ", f);
		lua_str(f, b->address);
		fputs(", name = ", f);
		lua_str(f, b->member);
		/* order: firstAvailable takes the first up in this order, as "primary" does */
		fprintf(f, ", weight = %u, order = %zu", b->weight ? b->weight : 1, i + 1);
		if (c->health)
			health_opts(f, c);
		fputs(" })\n", f);
		if (!c->health)
			fputs("  s:setUp() -- no health check: always up, as the userspace VIP\n", f);
		fputs("end\n", f);
	}
}

static void wrapped(FILE *f, const struct dnsdist_conf *c)
{
	fputs("local dnschaos_map = {\n", f);
	for (size_t i = 0; i < c->n; i++) {
		fputs("  [", f);
		lua_str(f, c->b[i].server);
		fputs("] = { address = ", f);
		lua_str(f, c->b[i].address);
		fputs(", member = ", f);
		lua_str(f, c->b[i].member);
		fputs(" },\n", f);
	}
	fputs("}\n"
	      "local dnschaos_seen = {}\n"
	      "local dnschaos_names = {}\n"
	      "for k in pairs(dnschaos_map) do dnschaos_names[#dnschaos_names + 1] = k end\n"
	      "table.sort(dnschaos_names)\n"
	      "local dnschaos_newServer = newServer\n"
	      "newServer = function(o)\n"
	      "  if type(o) ~= \"table\" or type(o.name) ~= \"string\" then\n"
	      "    error(\"dnschaos: every newServer needs name = ...: the scenario maps servers "
	      "to farm members by name (mapped: \" .. table.concat(dnschaos_names, \", \") .. \")\", 2)\n"
	      "  end\n"
	      "  local m = dnschaos_map[o.name]\n"
	      "  if not m then\n"
	      "    error(\"dnschaos: newServer name '\" .. o.name .. \"' is not a farm member of the "
	      "scenario's VIP (mapped: \" .. table.concat(dnschaos_names, \", \") .. \")\", 2)\n"
	      "  end\n"
	      "  if dnschaos_seen[o.name] then\n"
	      "    error(\"dnschaos: a second newServer named '\" .. o.name .. \"'\", 2)\n"
	      "  end\n"
	      "  dnschaos_seen[o.name] = true\n"
	      "  o.address = m.address\n"
	      "  return dnschaos_newServer(o)\n"
	      "end\n"
	      "-- Where dnsdist listens, talks and reports is the run's: these do nothing in the "
	      "user's file.\n"
	      "local dnschaos_keep = { setLocal = setLocal, addLocal = addLocal, webserver = "
	      "webserver,\n"
	      "  setWebserverConfig = setWebserverConfig }\n"
	      "for _, k in ipairs({ \"setLocal\", \"addLocal\", \"addDOHLocal\", \"addTLSLocal\",\n"
	      "                     \"addDNSCryptBind\", \"webserver\", \"setWebserverConfig\",\n"
	      "                     \"controlSocket\", \"carbonServer\", \"setSecurityPollSuffix\" }) do\n"
	      "  _G[k] = function() end\n"
	      "end\n"
	      "-- What would send outside and hands back an object the file goes on to use: refused.\n"
	      "for _, k in ipairs({ \"newRemoteLogger\", \"newFrameStreamTcpLogger\" }) do\n"
	      "  _G[k] = function()\n"
	      "    error(\"dnschaos: \" .. k .. \" sends outside the run: remove it from the file \"\n"
	      "          .. \"(dnsdist must not reach anything outside)\", 2)\n"
	      "  end\n"
	      "end\n"
	      "dofile(",
	      f);
	lua_str(f, c->user_file);
	fputs(")\n"
	      "for _, k in ipairs(dnschaos_names) do\n"
	      "  if not dnschaos_seen[k] then\n"
	      "    error(\"dnschaos: \" .. ",
	      f);
	lua_str(f, c->user_file);
	fputs(" .. \" has no newServer named '\" .. k .. \"' (the scenario maps it to farm member "
	      "'\" .. dnschaos_map[k].member .. \"')\")\n"
	      "  end\n"
	      "end\n"
	      "newServer = dnschaos_newServer\n"
	      "for k, fn in pairs(dnschaos_keep) do _G[k] = fn end\n",
	      f);
}

int dnsdist_conf_text(const struct dnsdist_conf *c, char **out)
{
	char *buf = NULL;
	size_t len = 0;
	int rc = -EINVAL;
	*out = NULL;
	if (c->n == 0 || c->n > DNSDIST_BACKENDS_MAX || !c->listen || !c->webserver ||
	    !c->api_key || (c->health && !c->user_file[0] && (!c->check_name[0] || !c->check_type[0])))
		return -EINVAL;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return -ENOMEM;
	fputs("-- Written by dnschaos for the VIP of ", f);
	fputs(c->where ? c->where : "a scenario", f);
	fputs(" (s:vip{ kind = \"dnsdist\" }).\n", f);
	/* First and last: nothing of dnsdist asks anything outside, whatever comes between. */
	fputs("setSecurityPollSuffix(\"\")\n", f);
	if (c->user_file[0])
		wrapped(f, c);
	else
		generated(f, c);
	if (c->policy)
		fprintf(f, "setServerPolicy(%s)\n", c->policy);
	if (c->udp_timeout_s)
		fprintf(f, "setUDPTimeout(%u)\n", c->udp_timeout_s);
	fputs("setSecurityPollSuffix(\"\")\nsetLocal(", f);
	lua_str(f, c->listen);
	fputs(")\nsetACL({ \"127.0.0.0/8\", \"::1/128\" })\nwebserver(", f);
	lua_str(f, c->webserver);
	fputs(")\nsetWebserverConfig({ apiKey = ", f);
	lua_str(f, c->api_key);
	fputs(", acl = \"127.0.0.0/8, ::1/128\" })\n", f);
	if (fclose(f) != 0) {
		rc = -ENOMEM;
		goto out;
	}
	f = NULL;
	*out = buf;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	return rc;
}

/* ---- the API's JSON: just enough of it ---- */

struct jp {
	const char *p, *end;
	int depth;
};

static void ws(struct jp *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\r' || *j->p == '\t'))
		j->p++;
}

static bool eat(struct jp *j, char c)
{
	ws(j);
	if (j->p < j->end && *j->p == c) {
		j->p++;
		return true;
	}
	return false;
}

/* A string into out (cap bytes, cut to fit; escapes kept as the escaped char,
 * \uXXXX as '?'); out may be NULL. */
static int jstr(struct jp *j, char *out, size_t cap)
{
	size_t o = 0;
	if (!eat(j, '"'))
		return -EINVAL;
	while (j->p < j->end && *j->p != '"') {
		char c = *j->p++;
		if (c == '\\') {
			if (j->p >= j->end)
				return -EINVAL;
			c = *j->p++;
			if (c == 'u') {
				if (j->end - j->p < 4)
					return -EINVAL;
				j->p += 4;
				c = '?';
			} else if (c == 'n' || c == 't' || c == 'r' || c == 'b' || c == 'f') {
				c = ' ';
			}
		}
		if (out && o + 1 < cap)
			out[o++] = c;
	}
	if (out && cap)
		out[o] = '\0';
	return eat(j, '"') ? 0 : -EINVAL;
}

static int jnum(struct jp *j, double *v)
{
	char tmp[64];
	size_t n = 0;
	ws(j);
	while (j->p < j->end && n + 1 < sizeof tmp && strchr("+-0123456789.eE", *j->p))
		tmp[n++] = *j->p++;
	tmp[n] = '\0';
	char *e;
	*v = strtod(tmp, &e);
	return n && *e == '\0' ? 0 : -EINVAL;
}

static int jskip(struct jp *j)
{
	double d;
	ws(j);
	if (j->p >= j->end || ++j->depth > 64)
		return -EINVAL;
	int rc = 0;
	char c = *j->p;
	if (c == '"') {
		rc = jstr(j, NULL, 0);
	} else if (c == '{' || c == '[') {
		char close = c == '{' ? '}' : ']';
		j->p++;
		if (!eat(j, close)) {
			do {
				if (c == '{' && (jstr(j, NULL, 0) != 0 || !eat(j, ':'))) {
					rc = -EINVAL;
					break;
				}
				if ((rc = jskip(j)) != 0)
					break;
			} while (eat(j, ','));
			if (rc == 0 && !eat(j, close))
				rc = -EINVAL;
		}
	} else if (c == 't' || c == 'f' || c == 'n') {
		const char *w = c == 't' ? "true" : c == 'f' ? "false" : "null";
		size_t wl = strlen(w);
		if ((size_t)(j->end - j->p) < wl || memcmp(j->p, w, wl) != 0)
			rc = -EINVAL;
		else
			j->p += wl;
	} else {
		rc = jnum(j, &d);
	}
	j->depth--;
	return rc;
}

static uint64_t count(double v)
{
	return v > 0 && v < 1.8e19 ? (uint64_t)v : 0;
}

static int jserver(struct jp *j, struct dnsdist_server *s)
{
	char key[32], state[16] = "";
	bool named = false;
	memset(s, 0, sizeof *s);
	if (!eat(j, '{'))
		return -EINVAL;
	if (eat(j, '}'))
		return -EINVAL;
	do {
		double v = 0;
		if (jstr(j, key, sizeof key) != 0 || !eat(j, ':'))
			return -EINVAL;
		int rc;
		if (strcmp(key, "name") == 0) {
			rc = jstr(j, s->name, sizeof s->name);
			named = true;
		} else if (strcmp(key, "state") == 0) {
			rc = jstr(j, state, sizeof state);
		} else if (strcmp(key, "queries") == 0 || strcmp(key, "responses") == 0 ||
			   strcmp(key, "reuseds") == 0 || strcmp(key, "sendErrors") == 0 ||
			   strcmp(key, "outstanding") == 0 || strcmp(key, "latency") == 0) {
			rc = jnum(j, &v);
			if (key[0] == 'q')
				s->queries = count(v);
			else if (key[0] == 'r' && key[2] == 's')
				s->responses = count(v);
			else if (key[0] == 'r')
				s->reuseds = count(v);
			else if (key[0] == 's')
				s->send_errors = count(v);
			else if (key[0] == 'o')
				s->outstanding = count(v);
			else
				s->latency_ms = v >= 0 ? v : 0;
		} else {
			rc = jskip(j);
		}
		if (rc != 0)
			return rc;
	} while (eat(j, ','));
	if (!eat(j, '}') || !named || !state[0])
		return -EINVAL;
	s->up = strcmp(state, "up") == 0 || strcmp(state, "UP") == 0;
	s->forced = strcmp(state, "UP") == 0 || strcmp(state, "DOWN") == 0;
	return 0;
}

int dnsdist_servers_parse(const char *body, size_t len, struct dnsdist_server *out, size_t max,
			  size_t *n)
{
	struct jp j = { body, body + len, 0 };
	char key[32];
	bool found = false;
	*n = 0;
	if (!eat(&j, '{'))
		return -EINVAL;
	if (eat(&j, '}'))
		return -EINVAL;
	do {
		if (jstr(&j, key, sizeof key) != 0 || !eat(&j, ':'))
			return -EINVAL;
		if (strcmp(key, "servers") != 0 || found) {
			if (jskip(&j) != 0)
				return -EINVAL;
			continue;
		}
		found = true;
		if (!eat(&j, '['))
			return -EINVAL;
		if (eat(&j, ']'))
			continue;
		do {
			struct dnsdist_server tmp;
			if (jserver(&j, &tmp) != 0)
				return -EINVAL;
			if (*n < max)
				out[(*n)++] = tmp;
		} while (eat(&j, ','));
		if (!eat(&j, ']'))
			return -EINVAL;
	} while (eat(&j, ','));
	if (!eat(&j, '}'))
		return -EINVAL;
	ws(&j);
	return found && j.p == j.end ? 0 : -EINVAL;
}

void dnsdist_config_error(const char *output, char *out, size_t cap)
{
	const char *pick = NULL, *last = NULL;
	size_t pick_len = 0, last_len = 0;
	if (!cap)
		return;
	out[0] = '\0';
	for (const char *p = output; *p;) {
		const char *nl = strchr(p, '\n');
		size_t l = nl ? (size_t)(nl - p) : strlen(p);
		if (l) {
			last = p;
			last_len = l;
			if (!pick && (strncmp(p, "Fatal", 5) == 0 || strstr(p, "rror") != NULL) &&
			    (!memchr(p, '\t', l))) {
				pick = p;
				pick_len = l;
			}
		}
		p += l + (nl ? 1 : 0);
	}
	if (!pick) {
		pick = last;
		pick_len = last_len;
	}
	if (!pick)
		return;
	static const char fatal[] = "Fatal Lua error: ";
	if (pick_len >= sizeof fatal - 1 && strncmp(pick, fatal, sizeof fatal - 1) == 0) {
		pick += sizeof fatal - 1;
		pick_len -= sizeof fatal - 1;
	}
	snprintf(out, cap, "%.*s", (int)(pick_len < 4096 ? pick_len : 4096), pick);
}
