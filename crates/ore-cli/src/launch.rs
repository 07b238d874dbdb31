//! `ore launch slurm|ray P.toml --shards N`: a pipeline's stale stages as
//! jobs of an existing scheduler.
//!
//! The plan is the one `ore run` follows, cut into tasks: a stage that runs
//! in shards becomes, for each of its steps, N tasks (`ore run P --only S
//! --shard K/N --step STEP`) and one commit (`ore commit OUTPUT --step
//! STEP`) after them; any other stage is one task (`ore run P --only S`).
//! A stage's first task waits for the last task of every stage it reads.
//!
//! On Slurm each step is a job array (`--array=0-(N-1)`) and each commit a
//! job, chained with `afterok` dependencies (`--kill-on-invalid-dep=yes`,
//! so a failure cancels what waits on it rather than leaving it pending).
//! A task that fails requeues itself (`scontrol requeue ARRAY_TASK`) up to
//! `--retries` times; its rerun replaces only its own shard's folder, so a
//! retry never duplicates rows. On Ray the same plan runs as one driver
//! script: one remote task per shard, with `max_retries`.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use ore_core::runner::{Graph, Hashes, Node};
use ore_core::{Pipeline, Stage};

use crate::stages::KINDS;

/// Arguments of `ore launch`.
#[derive(Debug, Args)]
pub(crate) struct LaunchArgs {
    #[command(subcommand)]
    target: LaunchTarget,
}

#[derive(Debug, Subcommand)]
enum LaunchTarget {
    /// Submit the plan to Slurm with sbatch: a job array per sharded step,
    /// a commit job after each, `afterok` dependencies between stages,
    /// failed tasks requeued. Prints the job ids; `ore status P.toml`
    /// follows the shards.
    Slurm(SlurmArgs),
    /// Run the plan as a Ray job (`python3` with `ray` installed): one
    /// remote task per shard, with retries, commits between steps.
    Ray(RayArgs),
}

/// What both schedulers take.
#[derive(Debug, Args)]
struct PlanArgs {
    /// Pipeline file (`pipelines/NAME.toml`).
    #[arg(value_name = "P.toml")]
    pipeline: PathBuf,

    /// Shards of every stage that runs in shards.
    #[arg(long, value_name = "N")]
    shards: u32,

    /// Launch this stage only.
    #[arg(long, value_name = "STAGE", conflicts_with = "from")]
    only: Option<String>,

    /// Launch this stage and every stage after it that reads its output.
    #[arg(long, value_name = "STAGE")]
    from: Option<String>,

    /// Launch the chosen stages even when they are up to date.
    #[arg(long)]
    force: bool,

    /// Override a key of the pipeline file (`SECTION.KEY=VALUE`), in every
    /// task; repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,

    /// CPUs (and `--threads`) of each task.
    #[arg(long, value_name = "N", default_value_t = 1)]
    cpus_per_task: u32,

    /// Times a failed task is run again.
    #[arg(long, value_name = "N", default_value_t = 2)]
    retries: u32,

    /// Write the scripts and print the plan without submitting anything.
    #[arg(long)]
    dry_run: bool,

    /// Wait until every task has finished, then say how each ended (and
    /// fail if one did not succeed).
    #[arg(long)]
    wait: bool,
}

#[derive(Debug, Args)]
struct SlurmArgs {
    #[command(flatten)]
    plan: PlanArgs,

    /// Slurm partition (`sbatch --partition`).
    #[arg(long, value_name = "P")]
    partition: Option<String>,

    /// Time limit of each task (`sbatch --time`, e.g. `1:00:00`).
    #[arg(long, value_name = "T")]
    time: Option<String>,

    /// Memory of each task (`sbatch --mem`, e.g. `4G`).
    #[arg(long, value_name = "M")]
    mem: Option<String>,

    /// Extra `sbatch` option for every job (e.g. `--account=nlp`);
    /// repeatable.
    #[arg(long = "sbatch", value_name = "OPT", allow_hyphen_values = true)]
    sbatch: Vec<String>,
}

#[derive(Debug, Args)]
struct RayArgs {
    #[command(flatten)]
    plan: PlanArgs,

    /// Ray cluster address (`ray.init(address=…)`; default: start or join
    /// a local one).
    #[arg(long, value_name = "ADDR")]
    address: Option<String>,

    /// Python with `ray` installed.
    #[arg(long, value_name = "PATH", default_value = "python3")]
    python: String,
}

/// One task (or array of tasks) of the plan.
#[derive(Debug, Clone, serde::Serialize)]
struct Task {
    /// `clean`, `clean.lines`, `clean.commit`, …
    name: String,
    section: String,
    /// The command, `{shard}` standing for `K/N` in an array.
    args: Vec<String>,
    /// Shards, for an array of tasks.
    shards: Option<u32>,
    /// Tasks (by index) that must succeed first.
    after: Vec<usize>,
}

/// The stages to launch, in order, and each one's tasks.
fn plan(args: &PlanArgs, ore: &Path) -> Result<(Pipeline, Vec<Task>)> {
    if args.shards == 0 {
        bail!("--shards must be at least 1");
    }
    let mut pipeline = Pipeline::load(&args.pipeline)?;
    for assignment in &args.set {
        pipeline.set(assignment)?;
    }
    let graph = Graph::build(&pipeline, KINDS)?;
    let selected: std::collections::BTreeSet<String> = match (&args.only, &args.from) {
        (Some(only), _) => [graph.require(only)?.section.clone()].into(),
        (None, Some(from)) => graph.downstream(&graph.require(from)?.section),
        (None, None) => graph.nodes().iter().map(|n| n.section.clone()).collect(),
    };
    let path = std::fs::canonicalize(&args.pipeline)
        .with_context(|| format!("{}", args.pipeline.display()))?;
    let base = |section: &str| -> Vec<String> {
        let mut a = vec![
            ore.display().to_string(),
            "run".into(),
            path.display().to_string(),
            "--only".into(),
            section.to_string(),
            "--force".into(),
            "--threads".into(),
            args.cpus_per_task.to_string(),
        ];
        for s in &args.set {
            a.push("--set".into());
            a.push(s.clone());
        }
        a
    };
    let mut tasks: Vec<Task> = Vec::new();
    // The last task of each stage launched, for the stages that read it.
    let mut last: std::collections::BTreeMap<String, usize> = Default::default();
    let mut rerun = std::collections::BTreeSet::new();
    let mut last_serve: Option<usize> = None;
    let mut hashes = Hashes::default();
    for node in graph.nodes() {
        if !selected.contains(&node.section) {
            continue;
        }
        if !args.force && graph.check(node, &rerun, &mut hashes).is_empty() {
            continue;
        }
        rerun.insert(node.section.clone());
        let mut after: Vec<usize> = node
            .upstream()
            .filter_map(|up| last.get(up).copied())
            .collect();
        // A stage with a local server (`serve`, the demo's crawls) runs as
        // one task, after the last such stage: tasks on one node would
        // share the server's port.
        let serves = pipeline.serve(&node.section)?.is_some();
        if serves {
            after.extend(last_serve);
        }
        after.sort_unstable();
        after.dedup();
        let steps = if serves {
            None
        } else {
            shard_steps(&pipeline, node)?
        };
        match steps {
            Some(steps) => {
                for step in steps {
                    let mut a = base(&node.section);
                    a.extend([
                        "--shard".into(),
                        "{shard}".into(),
                        "--step".into(),
                        step.into(),
                    ]);
                    tasks.push(Task {
                        name: format!("{}.{step}", node.section),
                        section: node.section.clone(),
                        args: a,
                        shards: Some(args.shards),
                        after: std::mem::take(&mut after),
                    });
                    let array = tasks.len() - 1;
                    tasks.push(Task {
                        name: format!("{}.{step}.commit", node.section),
                        section: node.section.clone(),
                        args: vec![
                            ore.display().to_string(),
                            "commit".into(),
                            absolute(&node.output)?.display().to_string(),
                            "--step".into(),
                            step.into(),
                        ],
                        shards: None,
                        after: vec![array],
                    });
                    after = vec![tasks.len() - 1];
                }
            }
            None => tasks.push(Task {
                name: node.section.clone(),
                section: node.section.clone(),
                args: base(&node.section),
                shards: None,
                after,
            }),
        }
        last.insert(node.section.clone(), tasks.len() - 1);
        if serves {
            last_serve = Some(tasks.len() - 1);
        }
    }
    Ok((pipeline, tasks))
}

fn absolute(path: &Path) -> Result<PathBuf> {
    Ok(if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()?.join(path)
    })
}

/// The steps of a stage's sharded run, or `None` where it does not run in
/// shards.
fn shard_steps(pipeline: &Pipeline, node: &Node) -> Result<Option<Vec<&'static str>>> {
    fn of<S: Stage>(pipeline: &Pipeline, section: &str) -> Result<Option<Vec<&'static str>>>
    where
        S::Error: Into<anyhow::Error>,
    {
        let config = ore_core::contract::load_config::<S>(pipeline, section)?;
        Ok(S::build(config).map_err(Into::into)?.shard_steps())
    }
    match node.kind.kind {
        "crawl" => of::<ore_crawl::Crawler>(pipeline, &node.section),
        "clean" => of::<ore_clean::Cleaner>(pipeline, &node.section),
        "tokenize" => of::<ore_tokenize::TokenizeStage>(pipeline, &node.section),
        "augment" => of::<ore_augment::AugmentStage>(pipeline, &node.section),
        "split" => of::<ore_split::SplitStage>(pipeline, &node.section),
        // Its runtime links libtorch, which `ore` does not: decoding runs
        // in shards whatever the config.
        "eval" => Ok(Some(vec![ore_core::shard::ROWS_STEP])),
        _ => Ok(None),
    }
}

/// Where the launch's scripts and logs go:
/// `<output_root>/<name>/_launch/<time>/`.
fn launch_dir(pipeline: &Pipeline) -> Result<PathBuf> {
    let stamp = humantime::format_rfc3339_seconds(std::time::SystemTime::now())
        .to_string()
        .replace([':', '-'], "")
        .replace('T', "-")
        .trim_end_matches('Z')
        .to_string();
    let root = absolute(&pipeline.stage_output("_launch"))?;
    let mut dir = root.join(&stamp);
    let mut n = 1;
    while dir.exists() {
        n += 1;
        dir = root.join(format!("{stamp}.{n}"));
    }
    std::fs::create_dir_all(dir.join("logs")).with_context(|| format!("{}", dir.display()))?;
    Ok(dir)
}

fn quote(arg: &str) -> String {
    if !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%{}".contains(c))
    {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

pub(crate) fn run(args: &LaunchArgs) -> Result<String> {
    match &args.target {
        LaunchTarget::Slurm(slurm) => launch_slurm(slurm),
        LaunchTarget::Ray(ray) => launch_ray(ray),
    }
}

/// The batch script of one task of the plan.
fn sbatch_script(task: &Task, args: &SlurmArgs, pipeline: &Pipeline, dir: &Path) -> Result<String> {
    let cwd = std::env::current_dir()?;
    let name = &pipeline.pipeline.name;
    let mut s = String::from("#!/bin/bash\n");
    let _ = writeln!(
        s,
        "# {} of pipeline `{name}`, written by `ore launch slurm`.",
        task.name
    );
    let _ = writeln!(s, "#SBATCH --job-name=ore-{name}-{}", task.name);
    let log = match task.shards {
        Some(n) => {
            let _ = writeln!(s, "#SBATCH --array=0-{}", n - 1);
            format!("{}/logs/{}-%a.log", dir.display(), task.name)
        }
        None => format!("{}/logs/{}.log", dir.display(), task.name),
    };
    let _ = writeln!(s, "#SBATCH --output={log}");
    let _ = writeln!(s, "#SBATCH --open-mode=append");
    let _ = writeln!(s, "#SBATCH --requeue");
    let _ = writeln!(s, "#SBATCH --cpus-per-task={}", args.plan.cpus_per_task);
    let _ = writeln!(s, "#SBATCH --chdir={}", cwd.display());
    if let Some(p) = &args.partition {
        let _ = writeln!(s, "#SBATCH --partition={p}");
    }
    if let Some(t) = &args.time {
        let _ = writeln!(s, "#SBATCH --time={t}");
    }
    if let Some(m) = &args.mem {
        let _ = writeln!(s, "#SBATCH --mem={m}");
    }
    for extra in &args.sbatch {
        let _ = writeln!(s, "#SBATCH {extra}");
    }
    s.push_str("export ORE_NO_PROGRESS=1\n");
    let (id, shard) = match task.shards {
        Some(n) => (
            "${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}",
            format!("${{SLURM_ARRAY_TASK_ID}}/{n}"),
        ),
        None => ("${SLURM_JOB_ID}", String::new()),
    };
    let command: Vec<String> = task
        .args
        .iter()
        .map(|a| {
            if a == "{shard}" {
                format!("\"{shard}\"")
            } else {
                quote(a)
            }
        })
        .collect();
    let _ = writeln!(
        s,
        "echo \"== $(date -u +%FT%TZ) {} on $(hostname), attempt $(( ${{SLURM_RESTART_COUNT:-0}} + 1 ))\"",
        task.name
    );
    let _ = writeln!(s, "{}", command.join(" "));
    s.push_str("rc=$?\n");
    // A failed task requeues itself: Slurm does not on a non-zero exit.
    let _ = writeln!(
        s,
        "if [ \"$rc\" -ne 0 ] && [ \"${{SLURM_RESTART_COUNT:-0}}\" -lt {} ]; then\n  echo \"== exit $rc: requeued\"\n  scontrol requeue \"{id}\"\nfi\nexit \"$rc\"",
        args.plan.retries
    );
    Ok(s)
}

/// The plan of this binary's tasks, or what to say when every stage is up
/// to date.
fn planned(args: &PlanArgs) -> Result<std::result::Result<(Pipeline, Vec<Task>), String>> {
    let ore = std::env::current_exe().context("the path of the ore binary")?;
    let (pipeline, tasks) = plan(args, &ore)?;
    if tasks.is_empty() {
        return Ok(Err(format!(
            "{}: every stage is up to date; nothing to launch (--force launches them anyway)\n",
            args.pipeline.display()
        )));
    }
    Ok(Ok((pipeline, tasks)))
}

fn launch_slurm(args: &SlurmArgs) -> Result<String> {
    let (pipeline, tasks) = match planned(&args.plan)? {
        Ok(plan) => plan,
        Err(nothing) => return Ok(nothing),
    };
    let dir = launch_dir(&pipeline)?;
    let mut ids: Vec<String> = Vec::with_capacity(tasks.len());
    let mut out = String::new();
    for (i, task) in tasks.iter().enumerate() {
        let script = dir.join(format!("{i:02}-{}.sbatch", task.name));
        std::fs::write(&script, sbatch_script(task, args, &pipeline, &dir)?)
            .with_context(|| format!("{}", script.display()))?;
        let after: Vec<&str> = task.after.iter().map(|&a| ids[a].as_str()).collect();
        let id = if args.plan.dry_run {
            format!("<{i}>")
        } else {
            let mut cmd = Command::new("sbatch");
            cmd.arg("--parsable").arg("--kill-on-invalid-dep=yes");
            if !after.is_empty() {
                cmd.arg(format!("--dependency=afterok:{}", after.join(":")));
            }
            cmd.arg(&script);
            let output = cmd.output().map_err(|e| {
                anyhow::anyhow!(
                    "cannot run sbatch ({e}): is Slurm's client on PATH? (the scripts are in {})",
                    dir.display()
                )
            })?;
            if !output.status.success() {
                bail!(
                    "sbatch {} failed: {}",
                    script.display(),
                    String::from_utf8_lossy(&output.stderr).trim()
                );
            }
            let text = String::from_utf8_lossy(&output.stdout);
            text.trim()
                .split(';')
                .next()
                .unwrap_or_default()
                .to_string()
        };
        let what = match task.shards {
            Some(n) => format!("{n} shards"),
            None => "1 task".into(),
        };
        let deps = if after.is_empty() {
            String::new()
        } else {
            format!(", after {}", after.join(", "))
        };
        let _ = writeln!(out, "{:<10} {:<28} {what}{deps}", id, task.name);
        ids.push(id);
    }
    std::fs::write(
        dir.join("plan.json"),
        serde_json::to_string_pretty(&serde_json::json!({
            "scheduler": "slurm",
            "pipeline": args.plan.pipeline,
            "shards": args.plan.shards,
            "jobs": tasks.iter().zip(&ids).map(|(t, id)| serde_json::json!({"job": id, "task": t})).collect::<Vec<_>>(),
        }))?,
    )?;
    let verb = if args.plan.dry_run {
        "written (not submitted)"
    } else {
        "submitted"
    };
    let mut report = format!(
        "{} jobs {verb}; scripts and logs in {}\n{out}",
        tasks.len(),
        dir.display()
    );
    if args.plan.dry_run {
        return Ok(report);
    }
    println!("{report}");
    report.clear();
    if !args.plan.wait {
        let _ = writeln!(
            report,
            "follow with: squeue -j {}   and   ore status {}",
            ids.join(","),
            args.plan.pipeline.display()
        );
        return Ok(report);
    }
    wait_slurm(&ids, &tasks, &dir)
}

/// Polls squeue until the jobs are gone, then reads how each task ended.
fn wait_slurm(ids: &[String], tasks: &[Task], dir: &Path) -> Result<String> {
    let started = Instant::now();
    loop {
        let output = Command::new("squeue")
            .args(["-h", "-o", "%i %T", "-j", &ids.join(",")])
            .output()
            .context("squeue")?;
        let text = String::from_utf8_lossy(&output.stdout);
        if output.status.success() && text.trim().is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    let mut report = String::new();
    let mut failed = Vec::new();
    for (id, task) in ids.iter().zip(tasks) {
        let output = Command::new("scontrol")
            .args(["show", "job", id])
            .output()
            .context("scontrol show job")?;
        let text = String::from_utf8_lossy(&output.stdout);
        let (mut done, mut total, mut restarts) = (0, 0, 0u32);
        for record in text.split("\n\n").filter(|r| r.contains("JobState=")) {
            total += 1;
            let field = |key: &str| {
                record
                    .split_whitespace()
                    .find_map(|w| w.strip_prefix(key))
                    .unwrap_or_default()
                    .to_string()
            };
            if field("JobState=") == "COMPLETED" {
                done += 1;
            }
            restarts += field("Restarts=").parse::<u32>().unwrap_or(0);
        }
        let _ = writeln!(
            report,
            "{id:<10} {:<28} {done}/{total} completed{}",
            task.name,
            if restarts > 0 {
                format!(", {restarts} requeued")
            } else {
                String::new()
            }
        );
        if total == 0 || done < total {
            failed.push(task.name.clone());
        }
    }
    let _ = writeln!(
        report,
        "all jobs left the queue after {:.1} s",
        started.elapsed().as_secs_f64()
    );
    if !failed.is_empty() {
        bail!(
            "{report}not completed: {} (logs in {})",
            failed.join(", "),
            dir.join("logs").display()
        );
    }
    Ok(report)
}

/// The Ray driver: the plan as JSON, run step by step.
const RAY_DRIVER: &str = r#"# Written by `ore launch ray`: runs the plan in plan.json on a Ray cluster,
# one remote task per shard (retried on failure), each step's commit after
# its shards, each stage after the stages it reads.
import json, os, socket, subprocess, sys, time
import ray
from ray.exceptions import RayError

plan = json.load(open(sys.argv[1]))
# Each task runs in the driver's working directory (relative paths of the
# pipeline file) with the driver's ORE_* and RUST_* settings: the workers of
# a cluster started elsewhere (`ray start`, which `ray.init()` joins when one
# is running) have their own working directory and environment.
cwd = os.getcwd()
env = {k: v for k, v in os.environ.items() if k.startswith(("ORE_", "RUST_"))}
env["ORE_NO_PROGRESS"] = "1"
address = plan.get("address") or None
ray.init(address=address)

# A task asking for more CPUs than the cluster has waits forever.
have = ray.cluster_resources().get("CPU", 0)
if have < plan["cpus"]:
    msg = f"each task asks for {plan['cpus']} CPUs (--cpus-per-task) but the Ray cluster has {have:g}"
    if address == "local" or (address is None and not os.environ.get("RAY_ADDRESS")):
        sys.exit(f"error: {msg}")
    print(f"warning: {msg}; the tasks wait until it grows", file=sys.stderr, flush=True)

@ray.remote(max_retries=plan["retries"], retry_exceptions=True, num_cpus=plan["cpus"])
def task(args, log, cwd, env):
    with open(log, "a") as out:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        print(f"== {stamp} on {socket.gethostname()}: {' '.join(args)}", file=out, flush=True)
        rc = subprocess.run(args, stdout=out, stderr=subprocess.STDOUT, cwd=cwd,
                            env={**os.environ, **env}).returncode
        if rc != 0:
            print(f"== exit {rc}", file=out, flush=True)
    if rc != 0:
        raise RuntimeError(f"{' '.join(args)} exited {rc} (log: {log})")
    return rc

def submit(name, args, log):
    return task.options(name=name).remote(args, log, cwd, env)

done = []

def wait(i):
    try:
        ray.get(done[i])
    except RayError as e:
        cause = getattr(e, "cause", None) or e
        sys.exit(f"error: {plan['tasks'][i]['name']} failed"
                 f" (retried up to {plan['retries']} times): {cause}")

for t in plan["tasks"]:
    # Stages run in plan order; a task waits for the tasks it depends on.
    for a in t["after"]:
        wait(a)
    if t["shards"]:
        n = t["shards"]
        done.append([submit(f"{t['name']}[{k}/{n}]",
                            [f"{k}/{n}" if x == "{shard}" else x for x in t["args"]],
                            f"{plan['logs']}/{t['name']}-{k}.log") for k in range(n)])
    else:
        done.append([submit(t["name"], t["args"], f"{plan['logs']}/{t['name']}.log")])
    print(f"submitted {t['name']}", flush=True)
for i in range(len(done)):
    wait(i)
print(f"{len(plan['tasks'])} tasks done", flush=True)
"#;

fn launch_ray(args: &RayArgs) -> Result<String> {
    let (pipeline, tasks) = match planned(&args.plan)? {
        Ok(plan) => plan,
        Err(nothing) => return Ok(nothing),
    };
    let probe = Command::new(&args.python)
        .args(["-c", "import ray"])
        .output()
        .map_err(|e| anyhow::anyhow!("cannot run {} ({e})", args.python))?;
    if !probe.status.success() && !args.plan.dry_run {
        bail!(
            "{} cannot import ray: install it (`pip install ray`) or pass --python",
            args.python
        );
    }
    let dir = launch_dir(&pipeline)?;
    let plan_path = dir.join("plan.json");
    std::fs::write(
        &plan_path,
        serde_json::to_string_pretty(&serde_json::json!({
            "scheduler": "ray",
            "address": args.address,
            "retries": args.plan.retries,
            "cpus": args.plan.cpus_per_task,
            "logs": dir.join("logs"),
            "tasks": tasks,
        }))?,
    )?;
    let driver = dir.join("driver.py");
    std::fs::write(&driver, RAY_DRIVER)?;
    let mut report = format!(
        "{} tasks; plan, driver and logs in {}\n",
        tasks.len(),
        dir.display()
    );
    if args.plan.dry_run {
        return Ok(report);
    }
    let _ = std::io::stdout().write_all(report.as_bytes());
    report.clear();
    let status = Command::new(&args.python)
        .arg(&driver)
        .arg(&plan_path)
        .status()
        .with_context(|| format!("{} {}", args.python, driver.display()))?;
    if !status.success() {
        bail!(
            "the Ray job failed ({status}); logs in {}",
            dir.join("logs").display()
        );
    }
    let _ = writeln!(report, "ray: {} tasks done", tasks.len());
    Ok(report)
}
