//! The Markdown report.

use std::fmt::Write;

use crate::machine::Machine;
use crate::memory::PerSession;
use crate::{Case, Measured, Settings, CONTENDERS};

/// `a / b` as a ratio, `-` when `b` is zero.
fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 {
        format!("{:.2}x", a / b)
    } else {
        "-".to_owned()
    }
}

/// Ours over `other` round by round (a round runs both back to back, so both met the same
/// machine), as `lowest–highest`: how far the machine moved the ratio during the run.
fn round_range(ours: &Measured, other: &Measured) -> String {
    let ratios: Vec<f64> = ours
        .runs
        .iter()
        .zip(&other.runs)
        .filter(|(_, other)| other.rate() > 0.0)
        .map(|(ours, other)| ours.rate() / other.rate())
        .collect();
    let lowest = ratios.iter().copied().reduce(f64::min);
    let highest = ratios.iter().copied().reduce(f64::max);
    match lowest.zip(highest) {
        Some((lowest, highest)) => format!("{lowest:.2}–{highest:.2}x"),
        None => "-".to_owned(),
    }
}

fn met(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "**missed**"
    }
}

/// Per-request calls of each command, most frequent first: `evalsha 2, hgetall 1`.
fn commands(measured: &Measured) -> String {
    let mut calls: Vec<(&String, &u64)> = measured.redis.calls.iter().collect();
    calls.sort_by(|a, b| b.1.cmp(a.1));
    let listed: Vec<String> = calls
        .iter()
        // Stragglers of another app's run, if any: not this app's.
        .filter(|(_, n)| measured.per_request(**n) >= 0.01)
        .map(|(name, n)| format!("{} {:.2}", name.to_uppercase(), measured.per_request(**n)))
        .collect();
    if listed.is_empty() {
        "none".to_owned()
    } else {
        listed.join(", ")
    }
}

pub fn markdown(
    settings: &Settings,
    machine: &Machine,
    results: &[(&Case, [Measured; 3])],
    memory: &PerSession,
) -> String {
    let mut out = String::new();
    let [ours, theirs, bare] = CONTENDERS;
    let _ = writeln!(out, "# Load benchmark: {ours} against {theirs}\n");
    let _ = writeln!(
        out,
        "Latest run: {}, {} cores, {}, redis-server {}. One-minute load average {} before \
         and {} after the run. While the rounds ran, processes other than the benchmark's \
         own (redis-server, the apps, wrk and the driver) took {:.1} % of the machine's CPU \
         time, and the hypervisor held back \
         {:.1} % (steal): the machine is shared, and the more of it others take, the \
         further figures move from run to run.\n",
        machine.date,
        machine.cores,
        machine.cpu,
        machine.redis,
        machine.load.0,
        machine.load.1,
        machine.contention.others * 100.0,
        machine.contention.steal * 100.0,
    );
    let _ = writeln!(
        out,
        "Made by `scripts/bench.sh`: each app is a release build with one worker, all on one \
         redis-server; wrk (1 thread, {} connections) drives each app for {} s per round, \
         {} rounds, the three apps interleaved within each round after a 1 s warm-up. \
         Figures are the median round (\"per round\": the lowest and highest of ours over \
         actix-session within one round); Redis figures come from Redis' own `INFO` counters \
         over every round, sampling's own cost left out. Ours is the counter example \
         (`examples/counter.rs`), except in the 10 KB case, which its fixed routes cannot \
         serve (`bench/src/bin/typed_session_app.rs`). actix-session 0.11 uses \
         `RedisSessionStore`, signed cookies and `TtlExtensionPolicy::OnEveryRequest`.\n",
        settings.connections, settings.seconds, settings.rounds
    );
    let isolation = &machine.isolation;
    let _ = writeln!(
        out,
        "redis-server, each app and each wrk run start in a session of their own (`setsid`). \
         With autogroups on and the bench in the root CPU cgroup, Linux shares the cores \
         between sessions first, so each app gets about one share whatever its thread \
         count: actix-session's second thread (its Redis I/O) shares its app's share \
         instead of taking CPU from redis-server and wrk. With every process in one \
         session, how much of the machine an app gets depends on its thread count, and the \
         ratios move (bench/PROFILE.md, fourth pass, has runs both ways). In this run: \
         autogroups {}, CPU cgroup `{}`, {}.\n",
        match isolation.autogroups {
            Some(true) => "on",
            Some(false) => "off",
            None => "unknown",
        },
        isolation.cpu_cgroup,
        if isolation.held() {
            "each process in an autogroup of its own: the arrangement held"
        } else if isolation.separate {
            "each process in an autogroup of its own, **but autogroups did not apply**"
        } else {
            "**the processes shared autogroups: the arrangement did not hold**"
        }
    );
    let _ = writeln!(out, "![requests per second per case](chart.svg)\n");

    let _ = writeln!(out, "## Cases\n");
    for (case, _) in results {
        let _ = writeln!(out, "- **{}**: {}", case.name, case.what);
    }

    let _ = writeln!(out, "\n## Throughput and latency\n");
    let _ = writeln!(
        out,
        "| case | {ours} req/s | {theirs} req/s | {bare} req/s | ours / {theirs} | same, per round | ours / bare | p50 ours / theirs / bare (ms) | p99 ours / theirs / bare (ms) |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (case, [o, t, b]) in results {
        let rate = |m: &Measured| m.median(|run| run.rate());
        let ms =
            |m: &Measured, p: fn(&crate::wrk::Run) -> f64| format!("{:.2}", m.median(p) / 1000.0);
        let _ = writeln!(
            out,
            "| {} | {:.0} | {:.0} | {:.0} | {} | {} | {} | {} / {} / {} | {} / {} / {} |",
            case.name,
            rate(o),
            rate(t),
            rate(b),
            ratio(rate(o), rate(t)),
            round_range(o, t),
            ratio(rate(o), rate(b)),
            ms(o, |r| r.p50_us),
            ms(t, |r| r.p50_us),
            ms(b, |r| r.p50_us),
            ms(o, |r| r.p99_us),
            ms(t, |r| r.p99_us),
            ms(b, |r| r.p99_us),
        );
    }

    let _ = writeln!(out, "\n## CPU time per request\n");
    let _ = writeln!(
        out,
        "The app process's CPU time (from `/proc`) and redis-server's (`INFO cpu`) per \
         request, in microseconds: steadier than requests per second on a shared machine, \
         where other work takes cores away at random.\n"
    );
    let _ = writeln!(
        out,
        "| case | app: ours / {theirs} / bare | redis-server: ours / {theirs} / bare | app + Redis: ours / {theirs} |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|");
    for (case, [o, t, b]) in results {
        let app = |m: &Measured| m.per_request(m.app_cpu_us);
        let redis = |m: &Measured| m.per_request(m.redis.cpu_us);
        let _ = writeln!(
            out,
            "| {} | {:.1} / {:.1} / {:.1} | {:.1} / {:.1} / {:.1} | {} |",
            case.name,
            app(o),
            app(t),
            app(b),
            redis(o),
            redis(t),
            redis(b),
            ratio(app(o) + redis(o), app(t) + redis(t)),
        );
    }

    let _ = writeln!(out, "\n## What one Redis core serves\n");
    let _ = writeln!(
        out,
        "Requests per second one fully busy Redis core would serve in each case, worked out \
         from the Redis CPU per request above (1 s over it). Every app server that shares \
         one Redis adds its requests to that core; a Redis Cluster spreads sessions over \
         its masters by key, so its capacity is this times the masters.\n"
    );
    let _ = writeln!(out, "| case | ours | {theirs} | ours / {theirs} |");
    let _ = writeln!(out, "|---|---:|---:|---:|");
    for (case, [o, t, _]) in results {
        let per_core = |m: &Measured| 1e6 / m.per_request(m.redis.cpu_us).max(f64::MIN_POSITIVE);
        // Under a twentieth of a microsecond is what sampling leaves behind, not work.
        if o.per_request(o.redis.cpu_us) < 0.05 {
            let _ = writeln!(
                out,
                "| {} | no Redis work | {:.0} | |",
                case.name,
                per_core(t)
            );
            continue;
        }
        let _ = writeln!(
            out,
            "| {} | {:.0} | {:.0} | {} |",
            case.name,
            per_core(o),
            per_core(t),
            ratio(per_core(o), per_core(t)),
        );
    }

    let _ = writeln!(out, "\n## Redis memory per session\n");
    let _ = writeln!(
        out,
        "`MEMORY USAGE` of one session key, made by each app before the rounds, holding the \
         same data: `views = 1`, and in the second row a 10 KB field as well.\n"
    );
    let _ = writeln!(
        out,
        "| session | ours (bytes) | {theirs} (bytes) | ours / {theirs} |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|");
    for (what, (o, t)) in [
        ("views = 1", memory.small),
        ("with a 10 KB field", memory.big),
    ] {
        let _ = writeln!(
            out,
            "| {what} | {o} | {t} | {} |",
            ratio(o as f64, t as f64)
        );
    }

    let _ = writeln!(out, "\n## Redis traffic per request\n");
    let _ = writeln!(
        out,
        "Reads are Redis' reads from the app's socket (`total_reads_processed`): one per \
         round trip when requests come one at a time, fewer under load, where the client \
         sends the commands of concurrent requests together. `tests/budget.rs` asserts the \
         round trips and commands of each request alone. Commands include those a Lua \
         script runs inside Redis.\n"
    );
    let _ = writeln!(
        out,
        "| case | reads ours / theirs | commands ours / theirs | bytes sent to Redis ours / theirs | ours / theirs | bytes from Redis ours / theirs | ours: commands | {theirs}: commands |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---|---|");
    for (case, [o, t, _]) in results {
        let sent = |m: &Measured| m.per_request(m.redis.bytes_in);
        let _ = writeln!(
            out,
            "| {} | {:.2} / {:.2} | {:.2} / {:.2} | {:.0} / {:.0} | {} | {:.0} / {:.0} | {} | {} |",
            case.name,
            o.per_request(o.redis.reads),
            t.per_request(t.redis.reads),
            o.per_request(o.redis.commands),
            t.per_request(t.redis.commands),
            sent(o),
            sent(t),
            ratio(sent(o), sent(t)),
            o.per_request(o.redis.bytes_out),
            t.per_request(t.redis.bytes_out),
            commands(o),
            commands(t),
        );
    }

    let _ = writeln!(out, "\n## Targets (issue 19; shown, not asserted)\n");
    let _ = writeln!(out, "| case | target | measured | |");
    let _ = writeln!(out, "|---|---|---:|---|");
    for (case, [o, t, b]) in results {
        let rate = |m: &Measured| m.median(|run| run.rate());
        for (least, other, name) in [(case.over_theirs, t, theirs), (case.over_bare, b, bare)] {
            let Some(least) = least else { continue };
            let got = rate(o) / rate(other).max(f64::MIN_POSITIVE);
            let _ = writeln!(
                out,
                "| {} | >= {least}x {name} | {got:.2}x | {} |",
                case.name,
                met(got >= least)
            );
        }
        if let (Some(most), true) = (case.redis_cpu_fraction, o.redis.cpu_us > 0) {
            let cpu = |m: &Measured| m.per_request(m.redis.cpu_us);
            let got = cpu(o) / cpu(t).max(f64::MIN_POSITIVE);
            let _ = writeln!(
                out,
                "| {} | Redis CPU per request <= {most}x {theirs}'s | {got:.2}x | {} |",
                case.name,
                met(got <= most)
            );
        }
        if let Some(most) = case.bytes_fraction {
            let sent = |m: &Measured| m.per_request(m.redis.bytes_in);
            let got = sent(o) / sent(t).max(f64::MIN_POSITIVE);
            let _ = writeln!(
                out,
                "| {} | bytes sent to Redis <= 1/{:.0} of {theirs}'s | 1/{:.0} | {} |",
                case.name,
                1.0 / most,
                1.0 / got.max(f64::MIN_POSITIVE),
                met(got <= most)
            );
        }
    }

    let failed: Vec<String> = results
        .iter()
        .flat_map(|(case, measured)| {
            measured
                .iter()
                .zip(CONTENDERS)
                .filter(|(m, _)| m.errors() > 0)
                .map(move |(m, name)| format!("{} on {name}: {}", case.name, m.errors()))
        })
        .collect();
    let _ = writeln!(
        out,
        "\nFailed requests (errors or non-2xx answers): {}.",
        if failed.is_empty() {
            "none".to_owned()
        } else {
            failed.join("; ")
        }
    );
    out
}
