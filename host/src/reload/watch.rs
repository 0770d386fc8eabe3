//! Watching files for changes: the directories of the watched files are watched (editors and
//! build tools replace files by renaming, which a watch on the file itself would lose), events
//! are filtered to the files of interest and debounced, so a file saved in several steps is
//! read once, after it has been quiet for the debounce time.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// A path in the form events report it: the canonical directory joined with the file name
/// (the file itself may not exist between the steps of a save).
pub fn watch_key(path: &Path) -> PathBuf {
    let name = path.file_name().map(PathBuf::from).unwrap_or_default();
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::canonicalize(dir)
        .unwrap_or_else(|_| dir.to_owned())
        .join(name)
}

/// Watches the directories of a set of files and reports changed files of the set.
pub struct FileWatcher {
    watcher: notify::RecommendedWatcher,
    dirs: BTreeSet<PathBuf>,
    raw: mpsc::UnboundedReceiver<PathBuf>,
    files: BTreeSet<PathBuf>,
}

impl FileWatcher {
    /// A watcher with no files yet.
    pub fn new() -> notify::Result<Self> {
        let (tx, raw) = mpsc::unbounded_channel();
        let watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
            if let Ok(event) = res
                && !matches!(event.kind, notify::EventKind::Access(_))
            {
                for p in event.paths {
                    let _ = tx.send(p);
                }
            }
        })?;
        Ok(Self {
            watcher,
            dirs: BTreeSet::new(),
            raw,
            files: BTreeSet::new(),
        })
    }

    /// Watch exactly `files` from now on (directories no longer needed are unwatched).
    pub fn set_files(&mut self, files: impl IntoIterator<Item = PathBuf>) -> notify::Result<()> {
        self.files = files.into_iter().map(|f| watch_key(&f)).collect();
        let dirs: BTreeSet<PathBuf> = self
            .files
            .iter()
            .filter_map(|f| f.parent().map(Path::to_path_buf))
            .collect();
        for gone in self.dirs.difference(&dirs) {
            let _ = self.watcher.unwatch(gone);
        }
        for new in dirs.difference(&self.dirs) {
            self.watcher.watch(new, RecursiveMode::NonRecursive)?;
        }
        self.dirs = dirs;
        Ok(())
    }

    /// The next change to a watched file (raw, not debounced); `None` when the watcher died.
    pub async fn next_change(&mut self) -> Option<PathBuf> {
        loop {
            let p = self.raw.recv().await?;
            if self.files.contains(&p) {
                return Some(p);
            }
        }
    }
}

/// Collects changed paths until none changed for the quiet time.
#[derive(Debug)]
pub struct Debouncer {
    quiet: Duration,
    pending: BTreeMap<PathBuf, Instant>,
    first: Option<Instant>,
}

impl Debouncer {
    /// Wait for `quiet` without events before reporting.
    pub fn new(quiet: Duration) -> Self {
        Self {
            quiet,
            pending: BTreeMap::new(),
            first: None,
        }
    }

    /// Note an event on `path` at `now`.
    pub fn note(&mut self, path: PathBuf, now: Instant) {
        self.first.get_or_insert(now);
        self.pending.insert(path, now);
    }

    /// When the pending set will be quiet, if anything is pending.
    pub fn deadline(&self) -> Option<Instant> {
        self.pending.values().max().map(|&last| last + self.quiet)
    }

    /// The changed paths and the time of the first event, once quiet at `now`.
    pub fn take_due(&mut self, now: Instant) -> Option<(Vec<PathBuf>, Instant)> {
        if self.deadline()? > now {
            return None;
        }
        let paths = std::mem::take(&mut self.pending).into_keys().collect();
        Some((paths, self.first.take().unwrap_or(now)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debouncer_waits_for_quiet_and_reports_each_path_once() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let mut d = Debouncer::new(Duration::from_millis(50));
        assert!(d.take_due(ms(0)).is_none());
        d.note("a".into(), ms(0));
        d.note("b".into(), ms(30));
        d.note("a".into(), ms(60));
        assert_eq!(d.deadline(), Some(ms(110)));
        assert!(d.take_due(ms(100)).is_none(), "still inside the quiet time");
        let (paths, first) = d.take_due(ms(110)).unwrap();
        assert_eq!(paths, vec![PathBuf::from("a"), PathBuf::from("b")]);
        assert_eq!(first, ms(0));
        assert!(d.take_due(ms(500)).is_none());
    }

    #[tokio::test]
    async fn replaced_and_rewritten_files_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "a").unwrap();
        let mut w = FileWatcher::new().unwrap();
        w.set_files([file.clone()]).unwrap();
        std::fs::write(dir.path().join("other.txt"), "x").unwrap();
        let tmp = dir.path().join("c.toml.tmp");
        std::fs::write(&tmp, "b").unwrap();
        std::fs::rename(&tmp, &file).unwrap();
        let got = tokio::time::timeout(Duration::from_secs(5), w.next_change())
            .await
            .expect("no event within 5 s");
        assert_eq!(got, Some(watch_key(&file)));
    }
}
