"""SSL distillation (spec ``distillation.md``): a frozen HuBERT/wav2vec2
teacher (`teacher`), students with a waveform or Fbank front end
(`student`), the shared HuBERT parts (`hubert`) and the regression,
discriminative and front-end losses (`losses`)."""
