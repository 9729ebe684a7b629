//! The pipeline as the CodePipeline console shows it, in the terminal: each stage and action with
//! its status, elapsed time and latest summary, redrawn in place on a terminal; one line per
//! event otherwise (CI logs, pipes).

use std::collections::HashMap;
use std::io::Write;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use local_codepipeline::Progress;

/// Width of a summary line in the live view.
const SUMMARY_WIDTH: usize = 100;

pub struct Display {
    live: Option<Live>,
    started: Instant,
    /// Plain lines go to stderr when stdout carries the JSON report.
    to_stderr: bool,
}

struct Live {
    multi: MultiProgress,
    bars: HashMap<(String, String), ProgressBar>,
}

fn first_line(text: &str) -> &str {
    text.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
}

fn cut(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_owned()
    } else {
        let mut s: String = text.chars().take(width.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

fn waiting_style() -> ProgressStyle {
    ProgressStyle::with_template("  {prefix:<26} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}

fn running_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner:.cyan} {prefix:<26} {elapsed:>5}  {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}

fn done_style(ok: bool) -> ProgressStyle {
    let template = if ok {
        "{prefix:.green} {elapsed:>5}  {msg}"
    } else {
        "{prefix:.red} {elapsed:>5}  {msg}"
    };
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_spinner())
}

impl Display {
    /// Live when stderr is a terminal (the live view draws on stderr, so stdout stays clean).
    pub fn new(live: bool, to_stderr: bool) -> Self {
        Display {
            live: live.then(|| Live {
                multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
                bars: HashMap::new(),
            }),
            started: Instant::now(),
            to_stderr,
        }
    }

    /// A line above the live view, or a plain line.
    pub fn line(&self, text: &str) {
        match &self.live {
            Some(live) => {
                let _ = live.multi.println(text);
            }
            None if self.to_stderr => eprintln!("{text}"),
            None => {
                println!("{text}");
                let _ = std::io::stdout().flush();
            }
        }
    }

    fn plain(&self, text: String) {
        let elapsed = self.started.elapsed().as_secs_f64();
        self.line(&format!("[{elapsed:7.1}s] {text}"));
    }

    pub fn handle(&mut self, event: Progress) {
        let key = |stage: &str, action: &str| (stage.to_owned(), action.to_owned());
        match (&mut self.live, event) {
            (
                _,
                Progress::Started {
                    pipeline,
                    execution_id,
                    commit_id,
                    stages,
                },
            ) => {
                self.line(&format!(
                    "Pipeline {pipeline}, execution {execution_id}, commit {}",
                    &commit_id[..commit_id.len().min(12)]
                ));
                if let Some(live) = &mut self.live {
                    for (stage, actions) in stages {
                        for action in actions {
                            let bar = live.multi.add(ProgressBar::new_spinner());
                            bar.set_style(waiting_style());
                            bar.set_prefix(format!("{stage} / {action}"));
                            bar.set_message("waiting");
                            live.bars.insert(key(&stage, &action), bar);
                        }
                    }
                }
            }
            (Some(live), Progress::ActionStarted { stage, action }) => {
                if let Some(bar) = live.bars.get(&key(&stage, &action)) {
                    bar.reset_elapsed();
                    bar.set_style(running_style());
                    bar.set_message("InProgress");
                    bar.enable_steady_tick(Duration::from_millis(120));
                }
            }
            (None, Progress::ActionStarted { stage, action }) => {
                self.plain(format!("{stage} / {action}: InProgress"));
            }
            (
                Some(live),
                Progress::ActionUpdated {
                    stage,
                    action,
                    summary,
                    ..
                },
            ) => {
                if let Some(bar) = live.bars.get(&key(&stage, &action)) {
                    bar.set_message(cut(first_line(&summary), SUMMARY_WIDTH));
                }
            }
            (
                None,
                Progress::ActionUpdated {
                    stage,
                    action,
                    summary,
                    percent,
                },
            ) => {
                let percent = percent.map(|p| format!(" ({p}%)")).unwrap_or_default();
                self.plain(format!(
                    "{stage} / {action}: InProgress{percent} - {}",
                    first_line(&summary)
                ));
            }
            (
                Some(live),
                Progress::ActionLog {
                    stage,
                    action,
                    line,
                },
            ) => {
                if let Some(bar) = live.bars.get(&key(&stage, &action)) {
                    bar.set_message(format!("│ {}", cut(line.trim_end(), SUMMARY_WIDTH)));
                }
            }
            (
                None,
                Progress::ActionLog {
                    stage,
                    action,
                    line,
                },
            ) => {
                self.plain(format!("{stage} / {action} | {}", line.trim_end()));
            }
            (
                Some(live),
                Progress::ActionFinished {
                    stage,
                    action,
                    status,
                    message,
                },
            ) => {
                if let Some(bar) = live.bars.get(&key(&stage, &action)) {
                    let ok = status == "Succeeded";
                    bar.set_style(done_style(ok));
                    bar.set_prefix(format!(
                        "{} {:<26}",
                        if ok { "✔" } else { "✘" },
                        format!("{stage} / {action}")
                    ));
                    let detail = message
                        .as_deref()
                        .map(|m| format!(": {}", cut(first_line(m), SUMMARY_WIDTH)))
                        .unwrap_or_default();
                    bar.finish_with_message(format!("{status}{detail}"));
                }
            }
            (
                None,
                Progress::ActionFinished {
                    stage,
                    action,
                    status,
                    message,
                },
            ) => {
                let detail = message
                    .as_deref()
                    .map(|m| format!(": {}", first_line(m)))
                    .unwrap_or_default();
                self.plain(format!("{stage} / {action}: {status}{detail}"));
            }
            (live, Progress::Finished { status }) => {
                if let Some(live) = live {
                    for bar in live.bars.values() {
                        if !bar.is_finished() {
                            bar.finish_with_message("not run");
                        }
                    }
                }
                self.plain(format!("Pipeline execution {status}"));
            }
            (_, Progress::Notified { function, outcome }) => {
                self.plain(format!("{function} (EventBridge): {outcome}"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_are_cut_to_their_first_line_and_width() {
        assert_eq!(
            first_line("\n  Training - Downloading\nmore"),
            "Training - Downloading"
        );
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cut("abc", 4), "abc");
        assert_eq!(cut("ééééé", 3), "éé…");
    }
}
