//! Embeds every shipped fingerprint file (fingerprints/**/*.toml) into the binary, so a new
//! rule file needs no code change; the port knowledge base (fingerprints/ports/*.toml) is
//! embedded apart, since its files are not rule files.

use std::path::{Path, PathBuf};
use std::{env, fs};

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fingerprints");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut all = Vec::new();
    collect(&root, &mut all);
    all.sort();
    let kb_root = root.join("ports");
    let (kb, files): (Vec<PathBuf>, Vec<PathBuf>) = all.into_iter().partition(|f| f.starts_with(&kb_root));
    let mut code = String::from("/// Shipped fingerprint files: (path under fingerprints/, contents).\npub const SHIPPED: &[(&str, &str)] = &[\n");
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
        let rel = file.strip_prefix(&root).unwrap_or(file).display().to_string();
        code.push_str(&format!(
            "    ({rel:?}, include_str!({:?})),\n",
            file.display().to_string()
        ));
    }
    code.push_str("];\n");
    let mut kb_code = String::from(
        "/// Port knowledge base files: (path under fingerprints/, contents).\npub const PORT_KB: &[(&str, &str)] = &[\n",
    );
    for file in &kb {
        println!("cargo:rerun-if-changed={}", file.display());
        let rel = file.strip_prefix(&root).unwrap_or(file).display().to_string();
        kb_code.push_str(&format!(
            "    ({rel:?}, include_str!({:?})),\n",
            file.display().to_string()
        ));
    }
    kb_code.push_str("];\n");
    let dir = PathBuf::from(env::var("OUT_DIR").unwrap_or_else(|_| ".".into()));
    for (name, text) in [("shipped.rs", code), ("port_kb.rs", kb_code)] {
        let out = dir.join(name);
        if let Err(e) = fs::write(&out, text) {
            panic!("cannot write {}: {e}", out.display());
        }
    }
}
