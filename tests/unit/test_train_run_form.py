"""gsv_core.train.run_form: the Training tab's values + the engine's limits → the runs to
start, or why not (D-3, H-4, X-1, not formatted), and "what will run".

The limits come from the real guideline engine on simulated machines (``GSV_FAKE_GPU``);
the formatted experiments are files written here in upstream's layout (names, rows and
sizes are all the planner reads).
"""

from __future__ import annotations

from pathlib import Path

from gsv_core.guidelines import DatasetSummary, training_limits
from gsv_core.hardware import detect_machine
from gsv_core.i18n import Translator
from gsv_core.prepare.layout import SEMANTIC_HEADER, ExperimentFiles
from gsv_core.train.run_form import build_run, plan_text, save_epochs
from gsv_core.workspace import Workspace

t = Translator("en_US")
GOOD = DatasetSummary(total_duration_s=1800.0, p95_slice_s=8.0, clip_count=300,
                      quality="good", reviewed_fraction=1.0)
UNCHECKED = DatasetSummary(total_duration_s=1800.0, p95_slice_s=8.0, clip_count=300,
                           quality="unknown", reviewed_fraction=0.0)


def cpu_limits(**values):
    return training_limits(detect_machine({"GSV_FAKE_GPU": "cpu"}), GOOD, **values)


def gpu_limits(dataset=GOOD, **values):
    return training_limits(detect_machine({"GSV_FAKE_GPU": "RTX 4090:24"}), dataset, **values)


def write_experiment(root: Path, name: str = "小明 voice", clips: int = 6,
                     seconds: float = 2.0, semantic: bool = True) -> ExperimentFiles:
    """A formatted experiment of ``clips`` clips, all ``seconds`` long (16-bit, 32 kHz)."""
    files = ExperimentFiles.of(Workspace(root), name)
    for folder in (files.bert_dir, files.hubert_dir, files.wav32k_dir):
        folder.mkdir(parents=True, exist_ok=True)
    rows, semantic_rows = [], [SEMANTIC_HEADER]
    for i in range(clips):
        clip = f"clip {i}.wav"
        rows.append(f"{clip}\tAA1 AE0\t1 1\thello")
        (files.hubert_dir / f"{clip}.pt").write_bytes(b"")
        (files.wav32k_dir / clip).write_bytes(bytes(int(seconds * 32000 * 2)))
        semantic_rows.append(f"{clip}\t1 2 3")
    files.name2text.write_text("\n".join(rows) + "\n", encoding="utf-8")
    if semantic:
        files.name2semantic.write_text("\n".join(semantic_rows) + "\n", encoding="utf-8")
    return files


def test_save_points_every_n_and_always_the_last_round():
    assert save_epochs(10, 4) == (4, 8, 10)
    assert save_epochs(8, 4) == (4, 8)
    assert save_epochs(3, 5) == (3,)


def test_both_gives_sovits_then_gpt_configs_with_the_clamped_values(tmp_path):
    write_experiment(tmp_path)
    limits = cpu_limits(sovits_epochs=12, gpt_epochs=7, sovits_save_every=3)
    form = build_run(Workspace(tmp_path), "小明 voice", limits, "both",
                     safety_acknowledged=True, first_run=True)
    assert form.ready, [b.text(t) for b in form.blockers]
    sovits, gpt = form.configs
    assert (sovits.kind, gpt.kind) == ("sovits", "gpt")
    assert sovits.epochs == int(limits.sovits_epochs.value) == 12
    assert sovits.save_every == 3
    assert gpt.epochs == 7
    assert sovits.batch_size == int(limits.sovits_batch.value)
    assert sovits.device == "cpu" and sovits.gpus == ()
    assert sovits.experiment == "小明 voice" and sovits.workspace == str(tmp_path)


def test_a_value_beyond_the_rules_runs_as_the_engine_clamped_it(tmp_path):
    write_experiment(tmp_path)
    limits = gpu_limits(sovits_batch=99)   # B-1: 14 on a 24 GB card
    form = build_run(Workspace(tmp_path), "小明 voice", limits, "sovits",
                     safety_acknowledged=True, first_run=False)
    (config,) = form.configs
    assert config.batch_size == int(limits.sovits_batch.value) < 99
    assert (config.device, config.gpus) == ("cuda", (0,))


def test_d3_unconfirmed_dpo_blocks_gpt(tmp_path):
    write_experiment(tmp_path)
    limits = gpu_limits(UNCHECKED, dpo=True)
    form = build_run(Workspace(tmp_path), "小明 voice", limits, "gpt",
                     safety_acknowledged=True, first_run=False)
    assert not form.ready and form.configs == ()
    assert [b.rule for b in form.blockers] == ["D-3"]
    confirmed = build_run(Workspace(tmp_path), "小明 voice",
                          gpu_limits(UNCHECKED, dpo=True, dpo_confirmed=True), "gpt",
                          safety_acknowledged=True, first_run=False)
    assert confirmed.ready and confirmed.configs[0].dpo


def test_h4_notice_must_be_acknowledged_before_the_first_run_only(tmp_path):
    write_experiment(tmp_path)
    first = build_run(Workspace(tmp_path), "小明 voice", cpu_limits(), "sovits",
                      safety_acknowledged=False, first_run=True)
    assert [b.rule for b in first.blockers] == ["H-4"]
    later = build_run(Workspace(tmp_path), "小明 voice", cpu_limits(), "sovits",
                      safety_acknowledged=False, first_run=False)
    assert later.ready


def test_an_unformatted_experiment_names_its_folder_and_missing_files(tmp_path):
    write_experiment(tmp_path, semantic=False)
    form = build_run(Workspace(tmp_path), "小明 voice", cpu_limits(), "gpt",
                     safety_acknowledged=True, first_run=False)
    (blocker,) = form.blockers
    text = blocker.text(t)
    assert str(tmp_path / "logs" / "小明 voice") in text and "6-name2semantic.tsv" in text
    never = build_run(Workspace(tmp_path), "other", cpu_limits(), "sovits",
                      safety_acknowledged=True, first_run=False)
    assert "2-name2text.txt" in never.blockers[0].text(t)


def test_a_name_that_cannot_be_a_folder_is_refused_with_x1(tmp_path):
    form = build_run(Workspace(tmp_path), "a/b", cpu_limits(), "sovits",
                     safety_acknowledged=True, first_run=False)
    assert [b.error.rule for b in form.blockers if b.error] == ["X-1"]
    assert form.configs == ()


def test_sovits_steps_per_round_follow_the_trainers_sampler(tmp_path):
    # 6 clips < 100 are repeated 16 times (upstream) = 96 items of one length, one bucket;
    # batch 5 pads the bucket to 100 items = 20 steps per round.
    write_experiment(tmp_path, clips=6, seconds=2.0)
    limits = gpu_limits(sovits_batch=5, sovits_epochs=10, sovits_save_every=4)
    form = build_run(Workspace(tmp_path), "小明 voice", limits, "sovits",
                     safety_acknowledged=True, first_run=False)
    (plan,) = form.plans
    assert (plan.clips, plan.steps_per_epoch, plan.exact) == (6, 20, True)
    assert plan.total_steps == 200 and plan.save_points == (4, 8, 10)
    text = plan_text(form, t)
    assert "effective batch 5" in text and "20 steps per round" in text
    assert "200 steps in all" in text and "rounds 4, 8, 10" in text
    assert "Estimated time: unknown" in text   # the guidelines give no figure: never invented


def test_gpt_steps_per_round_follow_the_trainers_sampler_and_accumulation(tmp_path):
    # 9 clips < 100 are repeated 1 + 100 // 9 = 12 times (gpt_data) = 108 items; batch 4
    # makes 27 batches per round, and 4 batches make one optimizer step: 7 steps per round,
    # 16 clips per step (B-8: the effective batch is shown).
    write_experiment(tmp_path, clips=9)
    form = build_run(Workspace(tmp_path), "小明 voice", gpu_limits(gpt_batch=4), "gpt",
                     safety_acknowledged=True, first_run=False)
    (plan,) = form.plans
    assert (plan.clips, plan.steps_per_epoch, plan.exact) == (9, 7, True)
    assert plan.effective_batch == 16 and form.configs[0].batch_size == 4
    text = plan_text(form, t)
    assert "7 steps per round" in text
    assert "effective batch 16 (4 per device × 1 GPU(s) × 4 batches per step, B-8)" in text


def test_plan_text_says_the_order_of_a_queue(tmp_path):
    write_experiment(tmp_path)
    form = build_run(Workspace(tmp_path), "小明 voice", cpu_limits(), "both",
                     safety_acknowledged=True, first_run=False)
    text = plan_text(form, t)
    assert text.index("**SoVITS**") < text.index("**GPT**")
    assert "SoVITS first, then GPT" in text


def test_the_settings_tabs_precision_goes_to_gpu_runs_and_the_cpu_stays_auto(tmp_path):
    from gsv_core.settings import LaunchSettings, save_settings

    write_experiment(tmp_path)
    save_settings(tmp_path, LaunchSettings(train_precision="fp16"))
    form = build_run(Workspace(tmp_path), "小明 voice", gpu_limits(), "both",
                     safety_acknowledged=True, first_run=False)
    assert [config.precision for config in form.configs] == ["fp16", "fp16"]
    assert plan_text(form, t).count("Precision fp16 (Settings tab)") == 2
    on_cpu = build_run(Workspace(tmp_path), "小明 voice", cpu_limits(), "sovits",
                       safety_acknowledged=True, first_run=False)
    assert on_cpu.configs[0].precision == "auto"   # fp32 there; fp16 would be refused
    assert "Precision" not in plan_text(on_cpu, t)
