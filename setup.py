"""Installs the speechbrain_ee package: efficient end-to-end ASR on SpeechBrain."""

from setuptools import find_packages, setup

with open("README.md", encoding="utf-8") as f:
    long_description = f.read()

setup(
    name="speechbrain-ee",
    version="0.1.0",
    description="Efficient end-to-end speech recognition on SpeechBrain: "
    "SummaryMixing, early exits, blank skipping, distillation, S3-Router.",
    long_description=long_description,
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["speechbrain_ee", "speechbrain_ee.*"]),
    package_data={"speechbrain_ee": ["analysis/*.yaml"]},
    install_requires=[
        # torchaudio 2.11 is the last release: an unpinned install pairs it
        # with a newer torch and `import torchaudio` fails, so pin the pair.
        # torchaudio 2.11.1 needs a torch symbol that torch 2.11.0 (the only
        # 2.11 torch) lacks ("undefined symbol ... libtorchaudio.so"): pin
        # torchaudio to 2.11.0 exactly.
        "torch==2.11.*",
        "torchaudio==2.11.0",
        "speechbrain==1.1.*",
        "hyperpyyaml",
        "sentencepiece",
        "jiwer",
        # Levenshtein distance in C++ for the patience exit strategy (per
        # utterance and exit pair); jiwer already installs it.
        "rapidfuzz",
        "soundfile",
        "numpy",
        "tqdm",
        "matplotlib",
        # `speechbrain-ee push` (SpeechBrain itself already needs it).
        "huggingface_hub",
        # SSL distillation: HuBERT/wav2vec2 teachers and students share
        # transformers' HuBERT modules (a real checkpoint loads into the same
        # code as the built-in teacher); 5.x for its masking utilities.
        "transformers>=5.0,<6",
        # Lexicon-constrained CTC beam search (speechbrain_ee.decoding.lexicon):
        # torchaudio's ctc_decoder runs flashlight-text's C++ decoder.
        "flashlight-text",
        # Long recordings (speechbrain_ee.inference.longform) are cut at pauses
        # found by Silero VAD: a neural VAD whose model ships inside the wheel
        # (loaded from it, no download; needs only torch), robust to noise
        # where webrtcvad's energy/GMM detector is not.
        "silero-vad>=6,<7",
    ],
    extras_require={
        # import-linter: the layering contracts of setup.cfg, checked by the tests
        "dev": ["pytest", "pytest-timeout", "import-linter"],
    },
    entry_points={
        "console_scripts": ["speechbrain-ee=speechbrain_ee.cli:main"],
    },
)
