//! Fetching datasets against a small HTTP server on 127.0.0.1 (no test reaches the internet).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use strata::data::fetch::{fetch, known, RemoteDataset, RemoteFile};

/// Serve `files` by path; returns the base address and the request counter.
fn serve(files: HashMap<String, Vec<u8>>) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}/data/", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&count);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            counter.fetch_add(1, Ordering::SeqCst);
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            if reader.read_line(&mut request).is_err() {
                continue;
            }
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).map_or(true, |n| n == 0) || line == "\r\n" {
                    break;
                }
            }
            let path = request.split_whitespace().nth(1).unwrap_or("").trim_start_matches("/data/").to_string();
            let mut stream = stream;
            match files.get(&path) {
                Some(body) => {
                    let _ = write!(
                        stream,
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = stream.write_all(body);
                }
                None => {
                    let _ = write!(stream, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                }
            }
        }
    });
    (base, count)
}

fn md5_hex(bytes: &[u8]) -> String {
    use md5::{Digest, Md5};
    Md5::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn temp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("strata-fetch-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn fetches_verifies_caches_and_never_fetches_again() {
    let a = b"first file".to_vec();
    let b = b"second file".to_vec();
    let (base, count) = serve(HashMap::from([("a.bin".to_string(), a.clone()), ("b.bin".to_string(), b.clone())]));
    let dataset = RemoteDataset {
        name: "toy".into(),
        mirrors: vec!["http://127.0.0.1:9/unreachable/".into(), base],
        files: vec![
            RemoteFile { name: "a.bin".into(), md5: md5_hex(&a) },
            RemoteFile { name: "b.bin".into(), md5: md5_hex(&b) },
        ],
    };
    let cache = temp("ok");
    let dir = fetch(&dataset, &cache).unwrap();
    assert_eq!(std::fs::read(dir.join("a.bin")).unwrap(), a);
    assert_eq!(std::fs::read(dir.join("b.bin")).unwrap(), b);
    let served = count.load(Ordering::SeqCst);
    assert_eq!(served, 2);
    fetch(&dataset, &cache).unwrap();
    assert_eq!(count.load(Ordering::SeqCst), served, "present and valid: nothing fetched again");
    // A corrupted cached file is replaced.
    std::fs::write(dir.join("b.bin"), b"tampered").unwrap();
    fetch(&dataset, &cache).unwrap();
    assert_eq!(std::fs::read(dir.join("b.bin")).unwrap(), b);
    assert_eq!(count.load(Ordering::SeqCst), served + 1);
    std::fs::remove_dir_all(&cache).unwrap();
}

#[test]
fn a_file_whose_checksum_differs_is_rejected() {
    // The official names and sums, served with other content: rejected, nothing left behind.
    let mut dataset = known("fashion-mnist").unwrap();
    let (base, _) = serve(dataset.files.iter().map(|f| (f.name.clone(), b"not the real file".to_vec())).collect());
    dataset.mirrors = vec![base];
    let cache = temp("bad");
    let e = fetch(&dataset, &cache).err().unwrap().to_string();
    assert!(
        e.contains("train-images-idx3-ubyte.gz")
            && e.contains("8d4fb7e6c68d591d4c3dfef9ec88bf0d")
            && e.contains("rejected"),
        "{e}"
    );
    assert!(!cache.join("fashion-mnist/train-images-idx3-ubyte.gz").exists());
    // Every mirror failing is reported, each with its reason.
    dataset.mirrors = vec!["http://127.0.0.1:9/".into()];
    let e = fetch(&dataset, &cache).err().unwrap().to_string();
    assert!(e.contains("http://127.0.0.1:9/train-images-idx3-ubyte.gz"), "{e}");
    assert!(known("cifar").err().unwrap().to_string().contains("fashion-mnist, mnist"));
    std::fs::remove_dir_all(&cache).unwrap();
}

#[test]
fn a_cached_file_that_fails_its_checksum_is_kept_until_a_verified_download_replaces_it() {
    let good = b"the real file".to_vec();
    let dataset = RemoteDataset {
        name: "toy".into(),
        // Offline: no mirror answers.
        mirrors: vec!["http://127.0.0.1:9/".into()],
        files: vec![RemoteFile { name: "a.bin".into(), md5: md5_hex(&good) }],
    };
    let cache = temp("keep");
    std::fs::create_dir_all(cache.join("toy")).unwrap();
    std::fs::write(cache.join("toy/a.bin"), b"an older copy").unwrap();
    let e = fetch(&dataset, &cache).err().unwrap().to_string();
    assert!(e.contains("127.0.0.1:9/a.bin") && e.contains("was left as it was"), "{e}");
    assert_eq!(std::fs::read(cache.join("toy/a.bin")).unwrap(), b"an older copy", "deleted before a download");
    // A mirror serving the wrong bytes does not replace it either; the right ones do.
    let (bad, _) = serve(HashMap::from([("a.bin".to_string(), b"wrong".to_vec())]));
    let e = fetch(&RemoteDataset { mirrors: vec![bad], ..dataset.clone() }, &cache).err().unwrap().to_string();
    assert!(e.contains("rejected"), "{e}");
    assert_eq!(std::fs::read(cache.join("toy/a.bin")).unwrap(), b"an older copy");
    let (base, _) = serve(HashMap::from([("a.bin".to_string(), good.clone())]));
    fetch(&RemoteDataset { mirrors: vec![base], ..dataset }, &cache).unwrap();
    assert_eq!(std::fs::read(cache.join("toy/a.bin")).unwrap(), good);
    std::fs::remove_dir_all(&cache).unwrap();
}
