"""Fine-tuning SoVITS and GPT on a formatted experiment (issue 11).

A formatted experiment (``logs/<exp>/`` with ``2-name2text.txt``, ``3-bert/``, ``4-cnhubert/``,
``5-wav32k/``, ``6-name2semantic.tsv``, written by this project or by upstream) plus the
official pretrained weights go in; weights in upstream's formats come out
(``SoVITS_weights_v2/<exp>_e<E>_s<S>.pth``, ``GPT_weights_v2/<exp>-e<E>.ckpt``).

One job per module:

    config      TrainConfig: everything one run needs, as the JSON the child process reads
    reporting   TrainReporter (what a trainer reports through; a JobContext is one) and the
                CLI's reporter that writes JSON lines and a progress line on stderr
    resume      resume checkpoints: written atomically, the newest intact one wins
    sovits_data / sovits   the SoVITS dataset, sampler and training loop
    compiled    optional torch.compile (CUDA graphs) of SoVITS's fixed-shape parts
    gpt_data / gpt         the GPT dataset, sampler and training loop (with DPO)

Trainers are plain functions ``train_sovits(config, reporter)`` / ``train_gpt(config,
reporter)`` returning a :class:`TrainResult`; the job, CLI and UI layers only choose the
config and show the events.
"""
