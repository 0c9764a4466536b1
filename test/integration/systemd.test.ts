// The systemd unit in contrib/ is checked by systemd itself (systemd-analyze verify), as an admin
// installing it would: with the paths of this checkout standing in for /opt/ttrelay.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));

void test("contrib/systemd/ttrelay.service is a unit systemd accepts, hardened, with a state directory", async () => {
  const text = await readFile(join(root, "contrib/systemd/ttrelay.service"), "utf8");
  for (const line of ["DynamicUser=yes", "StateDirectory=ttrelay", "ProtectSystem=strict", "NoNewPrivileges=yes", "RestartPreventExitStatus=2"]) assert.match(text, new RegExp(`^${line}$`, "m"), line);
  const analyze = spawnSync("systemd-analyze", ["--version"], { encoding: "utf8" });
  assert.equal(analyze.status, 0, "systemd-analyze is installed (Debian's systemd package)");
  const dir = await mkdtemp(join(tmpdir(), "ttrelay-unit-"));
  try {
    const unit = join(dir, "ttrelay.service");
    await writeFile(unit, text.replaceAll("/usr/bin/node", process.execPath).replaceAll("/opt/ttrelay", root.replace(/\/$/, "")));
    const r = spawnSync("systemd-analyze", ["verify", unit], { encoding: "utf8" });
    const ours = `${r.stdout}\n${r.stderr}`.split("\n").filter((l) => l.includes("ttrelay.service"));
    assert.deepEqual(ours, [], `systemd-analyze has nothing to say about the unit:\n${ours.join("\n")}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
