// Runs a Python script inside Pyodide under Node (tests/test_lite_pyodide.py):
//   node run.mjs STAGE_DIR SCRIPT OUT_DIR
// STAGE_DIR is copied to /stage in Pyodide's file system (on sys.path); the script writes its
// results under /out, which is copied back to OUT_DIR. Nothing is fetched from the network.
import fs from "node:fs";
import path from "node:path";
import { loadPyodide } from "pyodide";

const [stage, script, out] = process.argv.slice(2);
const py = await loadPyodide();

function copyIn(hostDir, pyDir) {
  py.FS.mkdirTree(pyDir);
  for (const entry of fs.readdirSync(hostDir, { withFileTypes: true })) {
    const host = path.join(hostDir, entry.name);
    const inside = `${pyDir}/${entry.name}`;
    if (entry.isDirectory()) copyIn(host, inside);
    else py.FS.writeFile(inside, fs.readFileSync(host));
  }
}

copyIn(stage, "/stage");
py.FS.mkdirTree("/out");
py.runPython("import sys; sys.path.insert(0, '/stage')");
py.runPython(fs.readFileSync(script, "utf8"));
fs.mkdirSync(out, { recursive: true });
for (const name of py.FS.readdir("/out")) {
  if (name === "." || name === "..") continue;
  fs.writeFileSync(path.join(out, name), py.FS.readFile(`/out/${name}`));
}
