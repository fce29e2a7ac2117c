//! How a trial's runs reach a peer target: one launcher per policy (the case's, and each
//! `--policy FILE` a run passes), and the reasons a case can't be expressed on the peer.
//!
//! Our own targets need none of this: their runs are `sandbox run ...` (see `trial.rs`).

use std::path::{Path, PathBuf};

use crate::case::{Case, RunSpec};
use crate::peers::{Context, Install, Refusal};
use crate::placeholders::Placeholders;
use crate::policy::Policy;

/// Placeholders that drive this sandbox's own CLI: an `on_host` run using them can't be
/// restated for a peer (cases use `{sandboxed}` for that instead).
const OUR_CLI: [&str; 3] = ["{sandbox}", "{target_args}", "{policy_args}"];

/// The launchers of a peer trial.
pub struct PeerLaunch {
    /// Runs its arguments under the case's policy (`{sandboxed}`).
    pub main: PathBuf,
    /// Per run: the launcher to use (`None` for `on_host` runs).
    pub runs: Vec<Option<PathBuf>>,
}

/// Writes the launchers for `case` on `install` into `dir`, or says why the peer can't
/// run the case. `policy` is the case's policy text (expanded), `None` for the default.
pub fn peer(
    install: &Install,
    case: &Case,
    policy: Option<&str>,
    ctx: &Context,
    vars: &Placeholders,
    dir: &Path,
) -> Result<PeerLaunch, Refusal> {
    let parse =
        |text: &str| Policy::parse(text, &ctx.ws).map_err(|e| Refusal::Unsupported(e.to_string()));
    let main_policy = match policy {
        Some(text) => parse(text)?,
        None => Policy::builtin_default(),
    };
    let main = install.launcher(&main_policy, ctx, &dir.join("main"))?;
    let mut runs = Vec::new();
    for (i, run) in case.runs.iter().enumerate() {
        let spec = &run.spec;
        if spec.on_host {
            if let Some(word) = OUR_CLI
                .iter()
                .find(|w| spec.raw_argv().iter().any(|a| a.contains(*w)))
            {
                return Err(unsupported(
                    spec,
                    i,
                    &format!("drives this sandbox's CLI ({word})"),
                ));
            }
            runs.push(None);
            continue;
        }
        if spec.subcommand != "run" {
            let what = format!(
                "uses `sandbox {}`, this sandbox's own command",
                spec.subcommand
            );
            return Err(unsupported(spec, i, &what));
        }
        let args = vars.expand_all(&spec.sandbox_args);
        let launcher = match args.as_slice() {
            [] => main.clone(),
            [flag, file] if flag == "--policy" => {
                let text = std::fs::read_to_string(file)
                    .map_err(|e| Refusal::Setup(format!("reading {file}: {e}")))?;
                install.launcher(&parse(&text)?, ctx, &dir.join(format!("run-{i}")))?
            }
            other => {
                let what = format!("passes `{}`, which has no equivalent", other.join(" "));
                return Err(unsupported(spec, i, &what));
            }
        };
        runs.push(Some(launcher));
    }
    Ok(PeerLaunch { main, runs })
}

fn unsupported(spec: &RunSpec, index: usize, what: &str) -> Refusal {
    Refusal::Unsupported(format!("{} {what}", spec.label(index)))
}
