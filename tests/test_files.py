"""Nothing lost, nothing left behind: output folders, temporaries, locks,
symbolic links, --overwrite, signals during the final write, damaged
checkpoints and incomplete results."""

import os
import shutil
import signal
import stat

import h5py
import numpy as np
import pytest
import xarray as xr
from helpers import make_config, same_result, write_study

from deterrence import UserError, results, runner
from deterrence.cli import main
from deterrence.plan import make_plan

# Copies of a result written to Zarr here carry fixed-width strings, which
# Zarr v3 warns about; the tool's own writes do not.
pytestmark = pytest.mark.filterwarnings("ignore:.*Zarr")




@pytest.fixture(scope="module")
def result(tmp_path_factory):
    """A finished result (NetCDF) to copy and damage."""
    folder = tmp_path_factory.mktemp("result")
    study = write_study(folder / "tiny.toml", "tiny")
    out = folder / "tiny.nc"
    assert main(["run", str(study), "--out", str(out), "--workers", "1"]) == 0
    return out


def one_line_error(capsys, *words) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("deterrence: error:"), err
    for word in words:
        assert word in err, err
    return err


def names(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# ------------------------------------------------------------ output folder

def test_default_output_works_from_any_folder(study, tmp_path, monkeypatch, capsys):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["run", str(study), "--workers", "1"]) == 0
    assert names(elsewhere) == ["results"] and names(elsewhere / "results") == ["tiny.nc"]


def test_output_parent_folders_are_created(study, tmp_path, capsys):
    out = tmp_path / "a" / "b" / "r.zarr"
    assert main(["run", str(study), "--out", str(out), "--runs", "1000"]) == 0
    assert names(out.parent) == ["r.zarr"]


@pytest.mark.parametrize("suffix, mode", [(".nc", 0o666), (".zarr", 0o777)])
def test_result_has_the_permissions_of_an_ordinary_new_file(study, tmp_path, capsys, suffix, mode):
    """Not those of the private temporary it was written as."""
    umask = os.umask(0o022)
    try:
        out = tmp_path / f"r{suffix}"
        assert main(["run", str(study), "--out", str(out), "--runs", "1000"]) == 0
    finally:
        os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == mode & ~0o022


def test_output_folder_that_is_a_file(study, tmp_path, capsys):
    (tmp_path / "a").write_text("not a folder")
    assert main(["run", str(study), "--out", str(tmp_path / "a" / "r.nc")]) == 2
    one_line_error(capsys, "cannot create its folder")


# ------------------------------------------------------------ --overwrite

def plant_directory(path):
    path.mkdir()
    (path / "precious.txt").write_text("keep me")


def plant_file(path):
    path.write_text("keep me")


def plant_foreign_netcdf(path):
    xr.Dataset({"x": ("i", np.arange(3))}, attrs={"source": "someone else"}).to_netcdf(path, engine="h5netcdf")


@pytest.mark.parametrize("name, plant", [
    ("r.zarr", plant_directory), ("r.nc", plant_directory), ("r.nc", plant_file),
    ("r.zarr", plant_file), ("r.nc", plant_foreign_netcdf)])
def test_overwrite_never_replaces_what_is_not_a_result(study, tmp_path, capsys, name, plant):
    out = tmp_path / name
    plant(out)
    before = sorted((p.relative_to(tmp_path), p.read_bytes() if p.is_file() else b"")
                    for p in tmp_path.rglob("*"))
    assert main(["run", str(study), "--out", str(out), "--overwrite"]) == 2
    one_line_error(capsys, "not a deterrence result", "--overwrite")
    after = sorted((p.relative_to(tmp_path), p.read_bytes() if p.is_file() else b"")
                   for p in tmp_path.rglob("*"))
    assert after == before


@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
def test_overwrite_never_follows_a_link(study, tmp_path, capsys, suffix):
    """Not even a link to a previous result: it is not ours to replace."""
    target = tmp_path / f"target{suffix}"
    assert main(["run", str(study), "--out", str(target), "--runs", "1000"]) == 0
    before = names(target) if target.is_dir() else target.read_bytes()
    capsys.readouterr()
    out = tmp_path / f"r{suffix}"
    out.symlink_to(target)
    assert main(["run", str(study), "--out", str(out), "--overwrite"]) == 2
    one_line_error(capsys, "symbolic link")
    assert out.is_symlink() and (names(target) if target.is_dir() else target.read_bytes()) == before


@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
def test_overwrite_replaces_a_previous_result(study, tmp_path, capsys, suffix):
    out = tmp_path / f"r{suffix}"
    assert main(["run", str(study), "--out", str(out), "--runs", "1000"]) == 0
    assert main(["run", str(study), "--out", str(out), "--runs", "1500", "--overwrite"]) == 0
    with xr.open_dataset(out, engine="zarr" if suffix == ".zarr" else "h5netcdf") as ds:
        assert int(ds.attrs["runs"]) == 1500
    assert names(tmp_path) == sorted([out.name, study.name])  # no temporary, old copy or lock left


def test_a_failed_zarr_replacement_keeps_the_previous_result(result, tmp_path, monkeypatch):
    with xr.open_dataset(result) as ds:
        ds = ds.load()
    out = results.write(ds, tmp_path / "r.zarr")
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    replace = os.replace

    def fail_for_the_new_one(src, dst):
        if str(src).endswith(".tmp"):
            raise OSError("disk full")
        replace(src, dst)

    monkeypatch.setattr(os, "replace", fail_for_the_new_one)
    with pytest.raises(OSError, match="disk full"):
        results.write(ds, out, overwrite=True)
    monkeypatch.undo()
    assert names(tmp_path) == ["r.zarr"] and results.is_result(out)
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before


# ------------------------------------------------------------ temporaries and links

def test_planted_links_at_temporary_names_are_not_followed(study, tmp_path, capsys):
    """The names the tool used to write through (fixed or pid-based) now lead nowhere."""
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    out = tmp_path / "r.nc"
    planted = [tmp_path / "r.nc.checkpoint.npz.tmp", tmp_path / f".r.nc.{os.getpid()}.tmp"]
    for link in planted:
        link.symlink_to(victim)
    assert main(["run", str(study), "--out", str(out)]) == 0
    assert victim.read_text() == "keep me"
    assert names(tmp_path) == sorted(["r.nc", "tiny.toml", "victim.txt", *(p.name for p in planted)])


def test_checkpoint_saves_leave_no_temporary(tmp_path):
    plan = make_plan(make_config(runs=2000, seed=1, block_runs=1000))
    checkpoint = runner.Checkpoint(tmp_path / "c.npz", {"seed": 1})
    for _ in range(3):
        checkpoint.save(runner.run_block(plan, 0, 1000), np.array([True, False]))
    assert names(tmp_path) == ["c.npz"]
    tallies, done = checkpoint.load(plan)
    assert tallies.runs == 1000 and list(done) == [True, False]


@pytest.mark.parametrize("resume", [True, False])
def test_a_link_at_the_checkpoint_name_is_neither_read_nor_deleted(study, tmp_path, capsys, resume):
    victim = tmp_path / "victim.npz"
    victim.write_text("keep me")
    (tmp_path / "r.nc.checkpoint.npz").symlink_to(victim)
    flag = "--resume" if resume else "--overwrite"
    assert main(["run", str(study), "--out", str(tmp_path / "r.nc"), flag]) == 2
    one_line_error(capsys, "r.nc.checkpoint.npz", "not a checkpoint file")
    assert victim.read_text() == "keep me" and (tmp_path / "r.nc.checkpoint.npz").is_symlink()
    assert not (tmp_path / "r.nc").exists()


# ------------------------------------------------------------ locks

def test_a_second_run_on_the_same_output_stops_at_once(study, tmp_path, capsys):
    out = tmp_path / "r.nc"
    with results.output_lock(out):  # what a first run holds while it computes
        assert main(["run", str(study), "--out", str(out), "--overwrite"]) == 2
        one_line_error(capsys, "another deterrence run is writing", "--out")
        assert not out.exists()
    assert names(tmp_path) == ["tiny.toml"]  # the lock goes with the run holding it
    assert main(["run", str(study), "--out", str(out)]) == 0


def test_a_stale_lock_file_does_not_block(study, tmp_path, capsys):
    """A run killed with SIGKILL leaves its lock file, but not its lock."""
    (tmp_path / ".r.nc.lock").write_text("")
    assert main(["run", str(study), "--out", str(tmp_path / "r.nc")]) == 0
    assert names(tmp_path) == ["r.nc", "tiny.toml"]


def test_a_planted_link_at_the_lock_name_is_refused(study, tmp_path, capsys):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (tmp_path / ".r.nc.lock").symlink_to(victim)
    assert main(["run", str(study), "--out", str(tmp_path / "r.nc")]) == 2
    one_line_error(capsys, "lock file")
    assert victim.read_text() == "keep me" and (tmp_path / ".r.nc.lock").is_symlink()


# ------------------------------------------------------------ signals during the final write

@pytest.fixture
def exit_raises(monkeypatch):
    """main() leaves with os._exit(75) (worker threads are not waited for);
    in a test that must not end the test process."""
    def fake_exit(code):
        raise SystemExit(code)
    monkeypatch.setattr(os, "_exit", fake_exit)


@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
def test_sigterm_during_the_final_write(study, tmp_path, capsys, monkeypatch, exit_raises, suffix):
    """The temporary is complete but not yet renamed: exit 75, nothing left
    but the checkpoint, and --resume ends with the bits of a run never stopped."""
    write = results._write

    def write_then_sigterm(*args):
        write(*args)
        os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(results, "_write", write_then_sigterm)
    out = tmp_path / f"r{suffix}"
    with pytest.raises(SystemExit) as stopped:
        main(["run", str(study), "--out", str(out), "--workers", "1"])
    assert stopped.value.code == 75
    assert "--resume" in capsys.readouterr().err
    assert names(tmp_path) == sorted([study.name, f"{out.name}.checkpoint.npz"])
    monkeypatch.setattr(results, "_write", write)
    assert main(["run", str(study), "--out", str(out), "--resume"]) == 0
    assert names(tmp_path) == sorted([study.name, out.name])
    whole = tmp_path / f"whole{suffix}"
    assert main(["run", str(study), "--out", str(whole), "--workers", "2"]) == 0
    if suffix == ".nc":
        assert same_result(out, whole)
    else:
        with xr.open_dataset(out, engine="zarr") as a, xr.open_dataset(whole, engine="zarr") as b:
            assert a.reattack_day.equals(b.reattack_day) and a.p_reattack.equals(b.p_reattack)


def test_sigterm_once_the_result_is_being_renamed_is_too_late(study, tmp_path, capsys, monkeypatch):
    """From the rename on, the run is finished: it ends normally, the result
    in place and the checkpoint gone, so a requeued job has nothing to redo."""
    write = results.write

    def write_with_late_sigterm(ds, path, overwrite=False, on_commit=None):
        def commit():
            on_commit()
            os.kill(os.getpid(), signal.SIGTERM)
        return write(ds, path, overwrite, on_commit=commit)

    monkeypatch.setattr(results, "write", write_with_late_sigterm)
    out = tmp_path / "r.nc"
    assert main(["run", str(study), "--out", str(out)]) == 0
    assert names(tmp_path) == ["r.nc", "tiny.toml"]
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


# ------------------------------------------------------------ damaged checkpoints

def partial_checkpoint(tmp_path):
    """A checkpoint of blocks 0 and 2 of four, saved as the runner does."""
    plan = make_plan(make_config(runs=4000, seed=3, block_runs=1000))
    total = runner.run_block(plan, 0, 1000).__iadd__(runner.run_block(plan, 2000, 3000))
    checkpoint = runner.Checkpoint(tmp_path / "c.npz", {"seed": 3})
    done = np.array([True, False, True, False])
    checkpoint.save(total, done)
    return plan, checkpoint, total, done


def test_sound_checkpoint_loads(tmp_path):
    plan, checkpoint, total, done = partial_checkpoint(tmp_path)
    tallies, back = checkpoint.load(plan)
    assert tallies.runs == 2000 and (back == done).all()
    np.testing.assert_array_equal(tallies.hist, total.hist)


def flip_a_byte(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def resave(path, **changes):
    """Rewrite the file's arrays with changes but the old checksum, as a
    disk error or a careless edit would."""
    with np.load(path) as f:
        content = {name: f[name] for name in f.files}
    content.update(changes)
    with open(path, "wb") as f:
        np.savez(f, **content)


INCONSISTENT = {
    # Each saved with a valid checksum of the wrong content: the parts must agree.
    "one more block marked done": (lambda t, d: (t, np.array([True, True, True, False])), "finished blocks"),
    "flags for another plan": (lambda t, d: (t, np.array([True, False, True])), "block flags"),
    "tallies runs off": (lambda t, d: (runner.Tallies(t.runs + 1, *list(t.arrays().values())), d),
                         "finished blocks"),
    "histogram off": (lambda t, d: (runner.Tallies(t.runs, t.hist + np.eye(1, t.hist.shape[2], dtype=t.hist.dtype),
                                                   t.moments, t.paired, t.sensitivity, t.sensitivity_runs), d),
                      "histograms"),
}


@pytest.mark.parametrize("case", sorted(INCONSISTENT))
def test_inconsistent_checkpoint_is_refused(tmp_path, case):
    plan, checkpoint, total, done = partial_checkpoint(tmp_path)
    change, words = INCONSISTENT[case]
    checkpoint.save(*change(total, done))
    with pytest.raises(UserError, match=f"damaged checkpoint.*{words}.*delete it") as error:
        checkpoint.load(plan)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("damage", ["flipped byte", "edited moments", "no checksum", "truncated"])
def test_damaged_checkpoint_is_refused(tmp_path, damage):
    plan, checkpoint, total, done = partial_checkpoint(tmp_path)
    path = checkpoint.path
    if damage == "flipped byte":
        flip_a_byte(path)
    elif damage == "edited moments":
        resave(path, moments=total.moments + 1)
    elif damage == "no checksum":
        with np.load(path) as f:
            content = {name: f[name] for name in f.files if name != "sha256"}
        with open(path, "wb") as f:
            np.savez(f, **content)
    else:
        path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(UserError, match="damaged checkpoint") as error:
        checkpoint.load(plan)
    assert "\n" not in str(error.value)


def test_damaged_checkpoint_through_the_cli(study, tmp_path, capsys, monkeypatch, exit_raises):
    """One line and exit 2 on --resume; --overwrite starts afresh."""
    out = tmp_path / "r.nc"
    monkeypatch.setattr(results, "_write", lambda *args: os.kill(os.getpid(), signal.SIGTERM))
    with pytest.raises(SystemExit):
        main(["run", str(study), "--out", str(out)])
    monkeypatch.undo()
    checkpoint = tmp_path / "r.nc.checkpoint.npz"
    with np.load(checkpoint) as f:
        done = f["done"].copy()
    resave(checkpoint, done=~done)
    capsys.readouterr()
    assert main(["run", str(study), "--out", str(out), "--resume"]) == 2
    one_line_error(capsys, "damaged checkpoint", "delete it")
    assert checkpoint.exists() and not out.exists()
    assert main(["run", str(study), "--out", str(out), "--overwrite"]) == 0
    assert names(tmp_path) == ["r.nc", "tiny.toml"]


# ------------------------------------------------------------ report on bad inputs

def drop(name):
    def damage(ds):
        return ds.drop_vars(name)
    return damage


def set_first(name, value):
    def damage(ds):
        values = ds[name].values.copy()
        values.reshape(-1)[0] = value
        return ds.assign({name: (ds[name].dims, values, ds[name].attrs)})
    return damage


def drop_attr(name):
    def damage(ds):
        ds.attrs.pop(name)
        return ds
    return damage


DAMAGED = {
    "missing probability": (drop("p_reattack"), "missing p_reattack"),
    "missing histogram": (drop("tripwire_day"), "missing tripwire_day"),
    "missing attribute": (drop_attr("config_sha256"), "missing attribute config_sha256"),
    "histogram off": (set_first("reattack_day", 123_456), "damaged reattack_day"),
    "NaN probability": (set_first("p_ceasefire", np.nan), "damaged p_ceasefire"),
    "NaN mean": (set_first("mean_strikes", np.nan), "damaged mean_strikes"),
}


@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
@pytest.mark.parametrize("case", sorted(DAMAGED))
def test_report_refuses_an_incomplete_result(result, tmp_path, capsys, case, suffix):
    damage, words = DAMAGED[case]
    bad = tmp_path / f"bad{suffix}"
    with xr.open_dataset(result) as ds:
        damaged = damage(ds.load())
    if suffix == ".nc":
        damaged.to_netcdf(bad, engine="h5netcdf")
    else:
        damaged.to_zarr(bad, consolidated=True)
    assert main(["report", str(bad)]) == 2
    one_line_error(capsys, words, "not a complete deterrence result")


def test_report_refuses_a_zarr_with_lost_chunks(result, tmp_path, capsys):
    """Zarr reads a missing chunk as its fill value: caught as damage, not shown as n/a."""
    bad = tmp_path / "bad.zarr"
    with xr.open_dataset(result) as ds:
        ds.to_zarr(bad, consolidated=True)
    chunks = [p for p in (bad / "p_reattack").rglob("*") if p.is_file() and p.name != "zarr.json"]
    assert chunks
    for chunk in chunks:
        chunk.unlink()
    assert main(["report", str(bad)]) == 2
    one_line_error(capsys, "p_reattack")


@pytest.mark.parametrize("what", ["text", "truncated", "foreign netcdf", "empty folder"])
def test_report_refuses_what_is_not_a_result(result, tmp_path, capsys, what):
    bad = tmp_path / ("bad.zarr" if what == "empty folder" else "bad.nc")
    if what == "text":
        bad.write_text("not a result")
    elif what == "truncated":
        bad.write_bytes(result.read_bytes()[:4096])
    elif what == "foreign netcdf":
        plant_foreign_netcdf(bad)
    else:
        bad.mkdir()
    assert main(["report", str(bad)]) == 2
    one_line_error(capsys, str(bad))


def test_report_out_must_not_be_an_existing_file(result, tmp_path, capsys):
    existing = tmp_path / "report.md"
    existing.write_text("keep me")
    assert main(["report", str(result), "--out", str(existing)]) == 2
    one_line_error(capsys, "report --out", "not a folder")
    assert existing.read_text() == "keep me"


def test_is_result_judges_by_content(result, tmp_path):
    assert results.is_result(result)
    copy = tmp_path / "copy.nc"
    shutil.copy(result, copy)
    with h5py.File(copy, "a") as f:
        f.attrs["source"] = "something else"
    assert not results.is_result(copy)
    link = tmp_path / "link.nc"
    link.symlink_to(result)
    assert not results.is_result(link)
