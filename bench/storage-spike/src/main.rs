//! Throwaway measurement spike for docs/storage.md "Ways forward": how pgbench_accounts-like rows
//! (plus one secondary-index-like table) behave in redb, fjall, a minimal page file of our own,
//! and an in-memory BTreeMap reference. Each subcommand runs in its own process and prints one
//! `RESULT {json}` line. See README.md.

mod engines;

use engines::{create_engine, open_engine};
use rand::{Rng, SeedableRng, rngs::StdRng};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub const BATCH: u64 = 100_000;
pub const CACHE_BYTES: usize = 256 << 20;
pub const FILLER_LEN: usize = 84;
/// offset of abalance in the encoded row: null bitmap (1) + aid (4) + bid (4)
pub const ABAL_OFF: usize = 9;

/// Row encoding shared by all engines: null bitmap u8, aid i32 LE, bid i32 LE, abalance i32 LE,
/// filler as u16 LE length + bytes (char(84): 84 spaces). 99 bytes.
pub fn encode_row(aid: u64, out: &mut Vec<u8>) {
    out.clear();
    out.push(0u8);
    out.extend_from_slice(&(aid as i32).to_le_bytes());
    out.extend_from_slice(&(bid_of(aid) as i32).to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes());
    out.extend_from_slice(&(FILLER_LEN as u16).to_le_bytes());
    out.extend_from_slice(&[b' '; FILLER_LEN]);
}

pub fn bid_of(aid: u64) -> u32 {
    ((aid - 1) / 100_000 + 1) as u32
}

pub fn abalance(row: &[u8]) -> i32 {
    i32::from_le_bytes(row[ABAL_OFF..ABAL_OFF + 4].try_into().unwrap())
}

/// Decode every column (the scan "decodes each row").
pub fn decode_row(row: &[u8]) -> (u8, i32, i32, i32, &[u8]) {
    let nulls = row[0];
    let aid = i32::from_le_bytes(row[1..5].try_into().unwrap());
    let bid = i32::from_le_bytes(row[5..9].try_into().unwrap());
    let abal = i32::from_le_bytes(row[9..13].try_into().unwrap());
    let len = u16::from_le_bytes(row[13..15].try_into().unwrap()) as usize;
    (nulls, aid, bid, abal, &row[15..15 + len])
}

pub fn add_abalance(row: &mut [u8], delta: i32) {
    let v = abalance(row).wrapping_add(delta);
    row[ABAL_OFF..ABAL_OFF + 4].copy_from_slice(&v.to_le_bytes());
}

pub fn acc_key(aid: u64) -> [u8; 8] {
    aid.to_be_bytes()
}

pub fn idx_key(aid: u64) -> [u8; 12] {
    let mut k = [0u8; 12];
    k[..4].copy_from_slice(&bid_of(aid).to_be_bytes());
    k[4..].copy_from_slice(&aid.to_be_bytes());
    k
}

fn status_kb(field: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    for line in s.lines() {
        if let Some(rest) = line.strip_prefix(field) {
            return rest.trim_start_matches(':').trim().trim_end_matches("kB").trim().parse().unwrap();
        }
    }
    0
}

fn rss_mb() -> f64 {
    status_kb("VmRSS") as f64 / 1024.0
}

fn hwm_mb() -> f64 {
    status_kb("VmHWM") as f64 / 1024.0
}

/// Bytes allocated on disk (st_blocks * 512, as du does), recursively.
pub fn du_bytes(p: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let mut total = 0;
    for f in walk(p) {
        if let Ok(m) = std::fs::symlink_metadata(&f) {
            total += m.blocks() * 512;
        }
    }
    total
}

fn walk(p: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![p.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let path = e.path();
            match e.file_type() {
                Ok(t) if t.is_dir() => stack.push(path),
                Ok(t) if t.is_file() => out.push(path),
                _ => {}
            }
        }
    }
    out
}

/// fsync + posix_fadvise(DONTNEED) every file under dir, then count pages still resident
/// (mmap + mincore) to check the eviction worked. Returns (files, bytes, resident bytes after).
fn evict(dir: &Path) -> (usize, u64, u64) {
    use std::os::fd::AsRawFd;
    let files = walk(dir);
    let mut bytes = 0;
    for f in &files {
        let Ok(file) = std::fs::OpenOptions::new().read(true).write(true).open(f) else { continue };
        file.sync_all().unwrap();
        let r = unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
        assert_eq!(r, 0, "posix_fadvise failed");
        bytes += file.metadata().unwrap().len();
    }
    let resident: u64 = files.iter().map(|f| resident_bytes(f)).sum();
    (files.len(), bytes, resident)
}

fn resident_bytes(f: &Path) -> u64 {
    use std::os::fd::AsRawFd;
    let Ok(file) = std::fs::File::open(f) else { return 0 };
    let len = file.metadata().unwrap().len() as usize;
    if len == 0 {
        return 0;
    }
    let page = 4096usize;
    unsafe {
        let p = libc::mmap(std::ptr::null_mut(), len, libc::PROT_READ, libc::MAP_SHARED, file.as_raw_fd(), 0);
        if p == libc::MAP_FAILED {
            return 0;
        }
        let n = len.div_ceil(page);
        let mut vec = vec![0u8; n];
        let r = libc::mincore(p, len, vec.as_mut_ptr());
        libc::munmap(p, len);
        if r != 0 {
            return 0;
        }
        vec.iter().filter(|b| **b & 1 == 1).count() as u64 * page as u64
    }
}

fn read_meta(dir: &Path) -> u64 {
    std::fs::read_to_string(dir.join("spike-meta.txt")).expect("no spike-meta.txt: run load first").trim().parse().unwrap()
}

fn budget() -> Duration {
    Duration::from_secs(std::env::var("SPIKE_BUDGET_S").ok().and_then(|s| s.parse().ok()).unwrap_or(240))
}

struct Lat(Vec<u32>);
impl Lat {
    /// (mean, p99) in microseconds
    fn stats(&self, from: usize) -> (f64, f64) {
        let mut v: Vec<u32> = self.0[from..].to_vec();
        if v.is_empty() {
            return (0.0, 0.0);
        }
        let mean = v.iter().map(|x| *x as f64).sum::<f64>() / v.len() as f64 / 1000.0;
        v.sort_unstable();
        let p99 = v[((v.len() as f64 * 0.99) as usize).min(v.len() - 1)] as f64 / 1000.0;
        (mean, p99)
    }
}

fn result(fields: &[(&str, String)]) {
    let body: Vec<String> = fields.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
    println!("RESULT {{{}}}", body.join(","));
    std::io::stdout().flush().unwrap();
}

fn f(x: f64) -> String {
    format!("{x:.3}")
}

fn s(x: &str) -> String {
    format!("\"{x}\"")
}

fn main() {
    let t0 = Instant::now();
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: spike load|open|read|scan|update|crash <redb|redb-quick|fjall|fjall-flush|pages|memory> <dir> [rows|n] [--cold]\n       spike ckpt <redb|redb-quick> <dir> <n> <rounds> [--sorted] [--crash] [--seed S]";
    if args.len() < 4 {
        eprintln!("{usage}");
        std::process::exit(2);
    }
    let (cmd, eng, dir) = (args[1].as_str(), args[2].as_str(), PathBuf::from(&args[3]));
    match cmd {
        "load" => {
            let rows: u64 = args[4].parse().unwrap();
            std::fs::create_dir_all(&dir).unwrap();
            let mut e = create_engine(eng, &dir);
            let start = Instant::now();
            let mut batch: Vec<(u64, Vec<u8>)> = Vec::with_capacity(BATCH as usize);
            let mut aid = 1;
            while aid <= rows {
                batch.clear();
                let end = (aid + BATCH - 1).min(rows);
                for a in aid..=end {
                    let mut v = Vec::with_capacity(99);
                    encode_row(a, &mut v);
                    batch.push((a, v));
                }
                e.put_batch(&batch);
                aid = end + 1;
            }
            drop(batch);
            e.finish_load();
            let load_s = start.elapsed().as_secs_f64();
            let rss_end = rss_mb();
            let extra = e.describe();
            let t_drop = Instant::now();
            drop(e);
            let drop_s = t_drop.elapsed().as_secs_f64();
            std::fs::write(dir.join("spike-meta.txt"), format!("{rows}\n")).unwrap();
            let disk = du_bytes(&dir);
            result(&[
                ("cmd", s("load")),
                ("engine", s(eng)),
                ("rows", rows.to_string()),
                ("load_s", f(load_s)),
                ("disk_mb", f(disk as f64 / 1048576.0)),
                ("bytes_per_row", f(disk as f64 / rows as f64)),
                ("rss_end_mb", f(rss_end)),
                ("peak_rss_mb", f(hwm_mb())),
                ("close_s", f(drop_s)),
                ("extra", s(&extra)),
            ]);
        }
        "open" => {
            let rows = read_meta(&dir);
            let mut e = open_engine(eng, &dir);
            let opened = t0.elapsed().as_secs_f64();
            let mut out = Vec::new();
            let aid = rows / 2 + 1;
            assert!(e.get(aid, &mut out), "first read found nothing");
            assert_eq!(decode_row(&out).1 as u64, aid);
            let first = t0.elapsed().as_secs_f64();
            let rss = rss_mb();
            let repairs = e.repair_calls().map_or("null".to_string(), |n| n.to_string());
            result(&[
                ("cmd", s("open")),
                ("engine", s(eng)),
                ("repair_callback_calls", repairs),
                ("open_ms", f(opened * 1000.0)),
                ("open_first_read_ms", f(first * 1000.0)),
                ("rss_mb", f(rss)),
                ("peak_rss_mb", f(hwm_mb())),
            ]);
        }
        "read" => {
            let n: usize = args[4].parse().unwrap();
            let cold = args.iter().any(|a| a == "--cold");
            let rows = read_meta(&dir);
            let mut evicted = String::from("null");
            if cold {
                let (files, bytes, resident) = evict(&dir);
                evicted = format!(
                    "{{\"method\":\"posix_fadvise DONTNEED after fsync\",\"files\":{files},\"bytes\":{bytes},\"resident_after\":{resident}}}"
                );
            }
            let t_open = Instant::now();
            let mut e = open_engine(eng, &dir);
            let open_ms = t_open.elapsed().as_secs_f64() * 1000.0;
            let mut rng = StdRng::seed_from_u64(if cold { 2 } else { 1 });
            let mut lat = Lat(Vec::with_capacity(n));
            let mut out = Vec::with_capacity(128);
            let start = Instant::now();
            let b = budget();
            let mut sum = 0i64;
            for _ in 0..n {
                let aid = rng.gen_range(1..=rows);
                let t = Instant::now();
                let found = e.get(aid, &mut out);
                lat.0.push(t.elapsed().as_nanos() as u32);
                assert!(found);
                sum += abalance(&out) as i64;
                if start.elapsed() > b {
                    break;
                }
            }
            let total = start.elapsed().as_secs_f64();
            let done = lat.0.len();
            let (mean, p99) = lat.stats(0);
            let (mean2, p992) = lat.stats(done / 2);
            result(&[
                ("cmd", s(if cold { "read_cold" } else { "read_warm" })),
                ("engine", s(eng)),
                ("requested", n.to_string()),
                ("done", done.to_string()),
                ("secs", f(total)),
                ("mean_us", f(mean)),
                ("p99_us", f(p99)),
                ("mean_us_2nd_half", f(mean2)),
                ("p99_us_2nd_half", f(p992)),
                ("open_ms", f(open_ms)),
                ("rss_mb", f(rss_mb())),
                ("peak_rss_mb", f(hwm_mb())),
                ("evicted", evicted),
                ("checksum", sum.to_string()),
            ]);
        }
        "scan" => {
            let rows = read_meta(&dir);
            let mut e = open_engine(eng, &dir);
            let start = Instant::now();
            let mut count = 0u64;
            let mut sum = 0i64;
            let mut filler = 0usize;
            e.scan(&mut |row: &[u8]| {
                let (_n, _aid, _bid, abal, fill) = decode_row(row);
                count += 1;
                sum += abal as i64;
                filler += fill.len();
            });
            let secs = start.elapsed().as_secs_f64();
            assert_eq!(count, rows, "scan count");
            result(&[
                ("cmd", s("scan")),
                ("engine", s(eng)),
                ("rows", count.to_string()),
                ("sum_abalance", sum.to_string()),
                ("secs", f(secs)),
                ("rss_mb", f(rss_mb())),
                ("peak_rss_mb", f(hwm_mb())),
            ]);
        }
        "update" => {
            let n: usize = args[4].parse().unwrap();
            let rows = read_meta(&dir);
            let mut e = open_engine(eng, &dir);
            let disk_before = du_bytes(&dir);
            let mut rng = StdRng::seed_from_u64(3);
            let start = Instant::now();
            let b = budget();
            let mut done = 0usize;
            for _ in 0..n {
                let aid = rng.gen_range(1..=rows);
                let delta = rng.gen_range(-5000..=5000);
                e.update(aid, delta);
                done += 1;
                if start.elapsed() > b {
                    break;
                }
            }
            let upd_s = start.elapsed().as_secs_f64();
            let t_ck = Instant::now();
            e.checkpoint();
            let ck_s = t_ck.elapsed().as_secs_f64();
            let total = start.elapsed().as_secs_f64();
            let rss = rss_mb();
            drop(e);
            let disk_after = du_bytes(&dir);
            result(&[
                ("cmd", s("update")),
                ("engine", s(eng)),
                ("requested", n.to_string()),
                ("done", done.to_string()),
                ("updates_s_secs", f(upd_s)),
                ("checkpoint_s", f(ck_s)),
                ("updates_per_s", f(done as f64 / total)),
                ("updates_per_s_excl_checkpoint", f(done as f64 / upd_s)),
                ("disk_mb_before", f(disk_before as f64 / 1048576.0)),
                ("disk_mb_after", f(disk_after as f64 / 1048576.0)),
                ("rss_mb", f(rss)),
                ("peak_rss_mb", f(hwm_mb())),
            ]);
        }
        "crash" => {
            // n non-durable updates, one durable commit, n more non-durable updates, then
            // _exit without running any destructor: the engine is not closed (like kill -9;
            // the OS page cache survives, so this is not a power loss). Next: `spike open`.
            let n: usize = args[4].parse().unwrap();
            let rows = read_meta(&dir);
            let mut e = open_engine(eng, &dir);
            let mut rng = StdRng::seed_from_u64(4);
            for i in 0..2 * n {
                e.update(rng.gen_range(1..=rows), 1);
                if i + 1 == n {
                    e.checkpoint();
                }
            }
            result(&[("cmd", s("crash")), ("engine", s(eng)), ("updates", (2 * n).to_string())]);
            unsafe { libc::_exit(0) };
        }
        "ckpt" => {
            // `rounds` checkpoints, each ONE durable write transaction overwriting `n` distinct
            // random rows (new abalance, different every round); keys in random order, or sorted
            // with --sorted. The rows are prepared before the transaction begins; the time is
            // begin_write .. commit returned. After each round: the file's allocated bytes (du)
            // and length. --crash: _exit(0) after the last round instead of closing the engine.
            use rand::seq::SliceRandom;
            let n: usize = args[4].parse().unwrap();
            let rounds: usize = args[5].parse().unwrap();
            let sorted = args.iter().any(|a| a == "--sorted");
            let crash = args.iter().any(|a| a == "--crash");
            let seed: u64 = args.iter().position(|a| a == "--seed").map_or(5, |i| args[i + 1].parse().unwrap());
            let rows = read_meta(&dir);
            let file = dir.join("spike.redb");
            let t_open = Instant::now();
            let mut e = open_engine(eng, &dir);
            let open_ms = t_open.elapsed().as_secs_f64() * 1000.0;
            let repairs = e.repair_calls().map_or("null".to_string(), |n| n.to_string());
            let du0 = du_bytes(&dir);
            let len0 = std::fs::metadata(&file).unwrap().len();
            let mut rng = StdRng::seed_from_u64(seed);
            let b = budget();
            let start = Instant::now();
            let mut per: Vec<String> = Vec::new();
            for round in 0..rounds {
                let mut keys: Vec<u64> =
                    rand::seq::index::sample(&mut rng, rows as usize, n).into_iter().map(|i| i as u64 + 1).collect();
                if sorted {
                    keys.sort_unstable();
                } else {
                    keys.shuffle(&mut rng);
                }
                let batch: Vec<(u64, Vec<u8>)> = keys
                    .iter()
                    .map(|&aid| {
                        let mut v = Vec::with_capacity(99);
                        encode_row(aid, &mut v);
                        let bal: i32 = rng.gen_range(-1_000_000..=1_000_000) + round as i32;
                        v[ABAL_OFF..ABAL_OFF + 4].copy_from_slice(&bal.to_le_bytes());
                        (aid, v)
                    })
                    .collect();
                drop(keys);
                let (txn_s, commit_s) = e.checkpoint_rows(&batch);
                drop(batch);
                let du = du_bytes(&dir);
                let len = std::fs::metadata(&file).unwrap().len();
                per.push(format!(
                    "{{\"round\":{},\"txn_s\":{},\"commit_s\":{},\"du_mb\":{},\"len_mb\":{},\"rss_mb\":{}}}",
                    round + 1,
                    f(txn_s),
                    f(commit_s),
                    f(du as f64 / 1048576.0),
                    f(len as f64 / 1048576.0),
                    f(rss_mb())
                ));
                if start.elapsed() > b {
                    break;
                }
            }
            let done = per.len();
            let mut fields = vec![
                ("cmd", s("ckpt")),
                ("engine", s(eng)),
                ("n", n.to_string()),
                ("rounds_requested", rounds.to_string()),
                ("rounds_done", done.to_string()),
                ("order", s(if sorted { "sorted" } else { "random" })),
                ("crash", crash.to_string()),
                ("seed", seed.to_string()),
                ("open_ms", f(open_ms)),
                ("repair_callback_calls", repairs),
                ("du_mb_before", f(du0 as f64 / 1048576.0)),
                ("len_mb_before", f(len0 as f64 / 1048576.0)),
                ("rounds", format!("[{}]", per.join(","))),
                ("peak_rss_mb", f(hwm_mb())),
            ];
            if crash {
                result(&fields);
                unsafe { libc::_exit(0) };
            }
            let t_close = Instant::now();
            drop(e);
            let close_s = t_close.elapsed().as_secs_f64();
            fields.push(("close_s", f(close_s)));
            fields.push(("du_mb_after_close", f(du_bytes(&dir) as f64 / 1048576.0)));
            fields.push(("len_mb_after_close", f(std::fs::metadata(&file).unwrap().len() as f64 / 1048576.0)));
            result(&fields);
        }
        _ => {
            eprintln!("{usage}");
            std::process::exit(2);
        }
    }
}
