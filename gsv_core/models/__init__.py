"""The GPT-SoVITS v2 networks (SoVITS generator and discriminator, GPT decoder), their
building blocks, spectrograms and checkpoint I/O. Import the submodule you need; this package
imports nothing eagerly, so ``import gsv_core.models`` stays cheap."""
