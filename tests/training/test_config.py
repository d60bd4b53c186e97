import os

import pytest

from keras_samplecnn.training import config as config_lib

from keras_samplecnn.experiments.settings import CONFIGS as RECIPE_CONFIGS


def write(tmp_path, text):
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("name", sorted(f for f in os.listdir(RECIPE_CONFIGS) if f in ("mtat_basic.yaml", "mtat_se.yaml", "mtat_rese.yaml", "mtat_resse.yaml")))
def test_recipe_configs_are_valid(name):
    config = config_lib.load(os.path.join(RECIPE_CONFIGS, name))
    assert config.optimization.learning_rate == 0.01 and config.data.batch_size == 23


def test_defaults_are_the_papers():
    config = config_lib.from_dict({})
    opt = config.optimization
    assert (opt.learning_rate, opt.momentum, opt.nesterov, opt.decay_factor, opt.stages) == (
        0.01,
        0.9,
        True,
        0.2,
        5,
    )
    assert config.data.batch_size == 23
    # Keras 2's SGD(decay=1e-6), the authors' effective patience, every segment per epoch.
    assert (opt.step_decay, opt.patience, config.data.crops_per_clip) == (1e-6, 3, "all")


def test_valid_file_and_overrides(tmp_path):
    path = write(tmp_path, "model:\n  name: resse\noptimization:\n  learning_rate: 1\n")
    config = config_lib.load(
        path, ["data.batch_size=8", "model.overrides.se_ratio=0.5", "precision.xla=false"]
    )
    assert config.model.name == "resse"
    assert config.optimization.learning_rate == 1.0 and isinstance(config.optimization.learning_rate, float)
    assert config.data.batch_size == 8 and config.model.overrides == {"se_ratio": 0.5}
    assert config.precision.xla is False


def test_yaml_exponents_without_a_dot_are_numbers(tmp_path):
    config = config_lib.load(write(tmp_path, "optimization:\n  step_decay: 1e-6\n"))  # a str to PyYAML
    assert config.optimization.step_decay == 1e-6


def test_round_trip(tmp_path):
    config = config_lib.from_dict({"data": {"dir": "x", "steps_per_epoch": 5}})
    config_lib.save(config, tmp_path / "c.yaml")
    assert config_lib.load(str(tmp_path / "c.yaml")) == config


@pytest.mark.parametrize(
    "text, message",
    [
        ("modle:\n  name: se\n", r"unknown key\(s\) \['modle'\]; allowed: \['data', 'distribution', 'evaluation', 'model'"),
        ("data:\n  batchsize: 3\n", r"unknown key\(s\) \['batchsize'\] in 'data'; allowed: \[.*'batch_size'"),
        ("data:\n  batch_size: many\n", "data.batch_size: expected int, got 'many'"),
        ("data:\n  batch_size: 2.5\n", "data.batch_size: expected int, got 2.5"),
        ("optimization:\n  nesterov: 1\n", "optimization.nesterov: expected bool, got 1"),
        ("precision:\n  policy: fp8\n", r"precision.policy: 'fp8' is not one of \['auto', 'float32'"),
        ("precision:\n  xla: maybe\n", "precision.xla: 'maybe' is not one of"),
        ("data: [1, 2]\n", "data: expected a mapping"),
        ("model: {name: se\n", "not valid YAML"),
        ("optimization:\n  max_minutes: soon\n", "optimization.max_minutes: expected float or null"),
        ("data:\n  crops_per_clip: some\n", 'data.crops_per_clip: \'some\' is not "all" or an int >= 1'),
        ("data:\n  crops_per_clip: 0\n", 'data.crops_per_clip: 0 is not "all" or an int >= 1'),
        ("optimization:\n  patience: 0\n", "optimization.patience: 0 is not an int >= 1"),
        ("optimization:\n  step_decay: -1\n", "optimization.step_decay: -1.0 is not a number >= 0"),
    ],
)
def test_invalid_configs(tmp_path, text, message):
    with pytest.raises(config_lib.ConfigError, match=message):
        config_lib.load(write(tmp_path, text))


def test_bad_override_and_missing_file(tmp_path):
    with pytest.raises(config_lib.ConfigError, match="key=value"):
        config_lib.load(write(tmp_path, ""), ["data.batch_size"])
    with pytest.raises(config_lib.ConfigError, match="not found"):
        config_lib.load(str(tmp_path / "missing.yaml"))


def test_extends_and_overlays_merge_section_by_section(tmp_path):
    (tmp_path / "base.yaml").write_text("data:\n  batch_size: 23\n  shuffle_buffer: 7\noptimization:\n  patience: 3\n")
    child = write(tmp_path, "extends: base.yaml\nmodel:\n  name: rese\n  overrides: {se_ratio: 2}\ndata:\n  batch_size: 8\n")
    (tmp_path / "profile.yaml").write_text("model:\n  overrides: {n: 8}\noptimization:\n  patience: 2\n")
    config = config_lib.load(child, ["optimization.patience=5"], overlays=[str(tmp_path / "profile.yaml")])
    assert (config.data.batch_size, config.data.shuffle_buffer) == (8, 7)  # child over base, base kept
    assert config.model.overrides == {"se_ratio": 2, "n": 8}  # the overlay adds, keeps the child's
    assert config.optimization.patience == 5  # --set last


def test_extends_cycle_is_an_error(tmp_path):
    (tmp_path / "a.yaml").write_text("extends: b.yaml\n")
    (tmp_path / "b.yaml").write_text("extends: a.yaml\n")
    with pytest.raises(config_lib.ConfigError, match="extends itself"):
        config_lib.load(str(tmp_path / "a.yaml"))


def test_recipes_state_the_authors_schedule():
    se = config_lib.load(os.path.join(RECIPE_CONFIGS, "mtat_se.yaml"))
    basic = config_lib.load(os.path.join(RECIPE_CONFIGS, "mtat_basic.yaml"))
    # Keras 2.0.5 EarlyStopping(patience=2) and Keras 1 patience=3 each waited one epoch more.
    assert (se.optimization.patience, basic.optimization.patience) == (3, 4)
    assert se.optimization.step_decay == 1e-6 and se.data.crops_per_clip == "all"
    cpu = config_lib.load(os.path.join(RECIPE_CONFIGS, "mtat_resse.yaml"),
                          overlays=[os.path.join(RECIPE_CONFIGS, "profiles", "cpu.yaml")])  # fmt: skip
    assert cpu.model.name == "resse" and "filters" in cpu.model.overrides


@pytest.mark.parametrize(
    "text, message",
    [
        ("data:\n  eval_batch_size: 0\n", "data.eval_batch_size: 0 is not an int >= 1"),
        ("data:\n  steps_per_epoch: 0\n", "data.steps_per_epoch: 0 is not null or an int >= 1"),
        ("data:\n  steps_per_epoch: -1\n", "data.steps_per_epoch: -1 is not null or an int >= 1"),
        ("optimization:\n  momentum: -0.1\n", r"optimization.momentum: -0.1 is not a number in \[0, 1\)"),
        ("optimization:\n  momentum: 1\n", r"optimization.momentum: 1.0 is not a number in \[0, 1\)"),
        ("optimization:\n  decay_factor: 0\n", r"optimization.decay_factor: 0.0 is not a number in \(0, 1\]"),
        ("optimization:\n  decay_factor: 5\n", r"optimization.decay_factor: 5.0 is not a number in \(0, 1\]"),
        ("optimization:\n  max_minutes: 0\n", "optimization.max_minutes: 0.0 is not null or a number > 0"),
        ("optimization:\n  max_minutes: -5\n", "optimization.max_minutes: -5.0 is not null or a number > 0"),
        ("optimization:\n  learning_rate: .inf\n", "optimization.learning_rate: expected a finite float, got inf"),
        ("optimization:\n  learning_rate: inf\n", "optimization.learning_rate: expected a finite float"),
        ("optimization:\n  step_decay: .nan\n", "optimization.step_decay: expected a finite float, got nan"),
        ("siamese:\n  margin: -.inf\n", "siamese.margin: expected a finite float, got -inf"),
        ("optimization:\n  max_minutes: .inf\n", "optimization.max_minutes: expected a finite float"),
        ("model:\n  overrides: {se_ratio: .nan}\n", "model.overrides.se_ratio: expected a finite float, got nan"),
    ],
)
def test_values_out_of_range(tmp_path, text, message):
    with pytest.raises(config_lib.ConfigError, match=message):
        config_lib.load(write(tmp_path, text))


def test_yaml_aliases_are_refused_before_they_grow(tmp_path):
    # Nine levels of ten aliases each: 10^9 strings if expanded (a "billion laughs" file).
    lines = ['a0: &a0 "lol"'] + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 10)]
    bomb = write(tmp_path, "\n".join(lines) + "\n")
    assert os.path.getsize(bomb) < 600
    with pytest.raises(config_lib.ConfigError, match=r"aliases \(\*a0\) are not allowed"):
        config_lib.load(bomb)
    (tmp_path / "empty.yaml").write_text("")
    with pytest.raises(config_lib.ConfigError, match="aliases"):  # an overlay (profile) too
        config_lib.load(str(tmp_path / "empty.yaml"), overlays=[bomb])
    with pytest.raises(config_lib.ConfigError, match="aliases"):  # a --set value too
        config_lib.load(str(tmp_path / "empty.yaml"), ["model.overrides.filters=[&w 8, *w]"])
    # Experiment configs (their demo: sections included) and profiles are read the same way.
    from keras_samplecnn.experiments import settings

    with pytest.raises(config_lib.ConfigError, match="aliases"):
        settings.load(bomb, demo=True)
    with pytest.raises(config_lib.ConfigError, match="aliases"):
        settings.load("mtat_se", demo=True, profile=bomb)


def test_deeply_nested_yaml_is_a_config_error(tmp_path):
    with pytest.raises(config_lib.ConfigError, match="nested too deeply"):
        config_lib.load(write(tmp_path, "data: " + "[" * 100_000 + "]" * 100_000 + "\n"))


def test_a_huge_bad_value_gives_a_short_message(tmp_path):
    with pytest.raises(config_lib.ConfigError) as error:
        config_lib.load(write(tmp_path, "data:\n  batch_size: [" + ", ".join(["12345"] * 100_000) + "]\n"))
    message = str(error.value)
    assert message.startswith("data.batch_size: expected int, got [12345, 12345") and len(message) < 200


def test_non_utf8_config_names_the_file(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("model:\n  name: s\xe9\n".encode("latin-1"))
    with pytest.raises(config_lib.ConfigError, match=f"{path} is not UTF-8 text"):
        config_lib.load(str(path))


def test_save_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "config.yaml"
    first = config_lib.from_dict({"data": {"dir": "first"}})
    config_lib.save(first, path)

    def die(*args, **kwargs):  # dies after part of the new file was written, as a kill would
        args[1].write("model:\n  na")
        raise MemoryError

    monkeypatch.setattr(config_lib.yaml, "safe_dump", die)
    with pytest.raises(MemoryError):
        config_lib.save(config_lib.from_dict({"data": {"dir": "second"}}), path)
    monkeypatch.undo()
    assert config_lib.load(str(path)) == first  # the previous copy is whole
    assert os.listdir(tmp_path) == ["config.yaml"]  # no temporary file left behind


def test_an_experiment_config_is_not_a_training_config():
    # `samplecnn train` on the DCUE experiment's config says what runs it instead.
    from keras_samplecnn.experiments.settings import config_path

    with pytest.raises(config_lib.ConfigError, match=r"unknown key.*configures the 'dcue' experiment: run it with `samplecnn run dcue`"):
        config_lib.load(config_path("dcue"))
    assert config_lib.load(config_path("mtat_se")).model.name == "se"  # a tagging config trains
    # The artist experiment's config is also the training config of each of its two models.
    assert config_lib.load(config_path("artist_representation")).siamese.margin == 0.4
