"""The `samplecnn` command: train, evaluate, tag, embed, recommend, extract, convert, export, models, ...

    samplecnn run mtat_se --demo                 (any paper's experiment: recipes/*.py run the same)
    samplecnn run mtat_se --data data/mtat       (raw MTAT or converted TFRecords)
    samplecnn train keras_samplecnn/experiments/configs/mtat_se.yaml --set data.dir=DATA --set output.dir=runs/se
    samplecnn evaluate runs/se/best.keras --data DATA [--split test] [--out DIR]
    samplecnn tag song.mp3 other.flac --model runs/se/best.keras [--top-k 5] [--json]
    samplecnn embed song.mp3 --model runs/se/best.keras [--out embeddings.npz]
    samplecnn embed song.mp3 --model ismir2018_siamese_msd10k          (--model: a .keras file or a preset)
    samplecnn index ~/Music --model ismir2018_siamese_msd10k --out lib_index   (rerun to resume or update)
    samplecnn similar query.mp3 --index lib_index [--top-k 10] [--json]
    samplecnn embed --model runs/artist/best.keras --data DATA --out embeddings.npz   (track ids kept)
    samplecnn embed --model runs/dcue/model.keras --data TASTE --out songs.npz       (DCUE: song ids)
    samplecnn recommend --model runs/dcue/model.keras --user USER --data TASTE [--top-k 10] [--json]
    samplecnn recommend --model runs/dcue/model.keras --user USER --songs songs.npz | FILE ...
    samplecnn index songs.npz --out songs_index        (approximate nearest-neighbour index, faiss HNSW)
    samplecnn recommend --model runs/dcue/model.keras --user USER --songs songs.npz --index songs_index
    samplecnn extract a.keras b.keras --data DATA --out FEATURES [--layers top3|all|NAME,NAME]
    samplecnn convert mtat --root MTAT --out DATA          (same as python -m tfrecords_tools)
    samplecnn visualize runs/se/best.keras --out figures/
    samplecnn export runs/se/best.keras --format saved_model|onnx|litert --out DIR   (then tag --model DIR)
    samplecnn data-service dispatcher --port 5050 --worker w1:5051 --worker w2:5051 --allow-open-port
    samplecnn data-service worker --dispatcher d:5050 --port 5051 --address w1:5051 --allow-open-port
    samplecnn models

Exit codes: 0 success; 1 some files could not be processed (the others were); 2 bad usage or
input (a bad config, a missing or unreadable file, corrupt data, a model file that is not a
keras_samplecnn model); 3 the system refused (permission denied, disk full, an I/O error; as
python -m tfrecords_tools); 130 interrupted (Ctrl-C). Each failure is one `error: ...` line on stderr.
"""

import argparse
import json
import os
import sys

from keras_samplecnn.data.schema import READERS
from keras_samplecnn.messages import one_line


def _train(args):
    from keras_samplecnn.training import config as config_lib
    from keras_samplecnn.training.trainer import train

    config = config_lib.load(args.config, args.set, overlays=args.profile)
    if not config.data.dir:
        raise config_lib.ConfigError("data.dir is empty: give it in the config or with --set data.dir=DIR")
    print(train(config))
    return 0


def _evaluate(args):
    from keras_samplecnn.evaluation import evaluate
    from keras_samplecnn.evaluation.evaluator import summary_lines

    results = evaluate(args.model, args.data, split=args.split, batch_size=args.batch_size, out_dir=args.out,
                       threshold=args.threshold, tune_on=args.tune_on, reader=args.reader)  # fmt: skip
    print(f"{results['split']} split, {results['num_clips']} clips ({results['task'].replace('_', '-')}):")
    for line in summary_lines(results):
        print(f"  {line}")
    if results["excluded_tags"]:
        print(f"  left out of the macro AUCs (no positive clip): {', '.join(results['excluded_tags'])}")
    if args.out:
        print(f"results.json and report.md in {args.out}")
    return 0


def _for_each_file(args, work):
    """Runs `work(tagger, path)` for each file; a failing file is reported, the rest go on."""
    from keras_samplecnn.audio import AudioDecodeError
    from keras_samplecnn.tagger import Tagger

    tagger = Tagger(args.model, trust_export=getattr(args, "trust_export", False))
    results, failures = {}, 0
    for path in args.files:
        try:
            results[path] = work(tagger, path)
        except (AudioDecodeError, OSError) as error:
            failures += 1
            print(f"error: {path}: {getattr(error, 'reason', error)}", file=sys.stderr)
    return results, failures


def _tag(args):
    results, failures = _for_each_file(args, lambda tagger, path: tagger.tag(path, top_k=args.top_k))
    if args.json:
        print(json.dumps({path: dict(tags) for path, tags in results.items()}, indent=2))
    else:
        for path, tags in results.items():
            print(path)
            for tag, score in tags:
                print(f"  {score:.3f}  {tag}")
    return 1 if failures else 0


def _embed(args):
    import numpy as np

    if args.data:
        if args.files:
            raise ValueError("give audio FILEs or --data, not both")
        if not args.out:
            raise ValueError("--data needs --out FILE.npz")
        return _embed_dataset(args)
    if not args.files:
        raise ValueError("give audio FILEs, or --data a converted folder")
    results, failures = _for_each_file(args, lambda tagger, path: tagger.embed(path))
    if args.out:
        np.savez(args.out, paths=np.array(list(results)), embeddings=np.stack(list(results.values())))
        print(f"{len(results)} embeddings of size {len(next(iter(results.values())))} written to {args.out}")
    else:
        print(json.dumps({path: [round(float(v), 6) for v in e] for path, e in results.items()}))
    return 1 if failures else 0


def _embed_dataset(args):
    """Every clip of a converted folder, embedded with its clip (track) id, through the feature
    extraction's batched single read (`extract_features` of the model's feature layer)."""
    import tempfile

    import numpy as np

    from keras_samplecnn.aggregation import extract_features
    from keras_samplecnn.aggregation.features import load_features
    from keras_samplecnn.models.dcue import DCUE
    from keras_samplecnn.tagger import Tagger

    model = Tagger(args.model).model
    if isinstance(model, DCUE):
        return _embed_songs(model, args)
    splits = [s for s in args.splits.split(",") if s]
    with tempfile.TemporaryDirectory(dir=os.path.dirname(os.path.abspath(args.out))) as cache:
        extract_features([model], args.data, cache, splits=splits, layers=[model.feature_layer_name],
                         show_progress=True)  # fmt: skip
        parts = [(split, *load_features(cache, split)) for split in splits]
    embeddings = np.concatenate([features for _, features, _, _ in parts])
    np.savez(args.out, track_ids=np.concatenate([ids for _, _, _, ids in parts]), embeddings=embeddings,
             splits=np.concatenate([[split] * len(ids) for split, _, _, ids in parts]),
             labels=np.concatenate([labels for _, _, labels, _ in parts]))  # fmt: skip
    counts = ", ".join(f"{split} {len(ids)}" for split, _, _, ids in parts)
    print(f"{len(embeddings)} embeddings of size {embeddings.shape[1]} ({counts}) with their track ids "
          f"written to {args.out}")  # fmt: skip
    return 0


def _embed_songs(model, args):
    """DCUE: every song of a taste-profile folder, with its song id and warm/cold split."""
    import numpy as np

    from keras_samplecnn.recommender import embed_catalogue

    split, embeddings = embed_catalogue(model, args.data)
    np.savez(args.out, track_ids=split.songs, embeddings=embeddings,
             splits=np.where(split.cold, "cold", "warm"))  # fmt: skip
    print(f"{len(embeddings)} song embeddings of size {embeddings.shape[1]} ({int(split.cold.sum())} cold-start) "
          f"with their song ids written to {args.out}")  # fmt: skip
    return 0


def _recommend(args):
    """A user's top songs: from a converted folder, an embeddings .npz, or audio files."""
    import numpy as np

    from keras_samplecnn.recommender import Recommender, load_dcue, played_by_user

    sources = sum(map(bool, (args.files, args.songs))) + bool(args.data and not args.songs)
    if args.index and not args.songs:
        raise ValueError("--index goes with the --songs file it was built from")
    if sources != 1:
        raise ValueError("give the catalogue once: --data DIR, --songs FILE.npz (with --data for what users "
                         "played) or audio FILEs")  # fmt: skip
    model = load_dcue(args.model)
    if args.files:
        results, failures = _for_each_file(args, lambda tagger, path: tagger.embed(path))
        if not results:
            return 1
        recommender = Recommender(model, list(results), np.stack(list(results.values())))
    elif args.songs:
        with np.load(args.songs) as songs:
            if "track_ids" not in songs or "embeddings" not in songs:
                raise ValueError(f"{args.songs}: not a samplecnn embed file (needs track_ids and embeddings)")
            ids, embeddings = songs["track_ids"], songs["embeddings"]
        played = None
        if args.data:
            from keras_samplecnn.data.interaction_split import load_interaction_split

            split = load_interaction_split(args.data)
            position = {song: i for i, song in enumerate(ids.tolist())}
            rows = [(u, position.get(str(split.songs[s]))) for u, s in zip(split.user.tolist(), split.song.tolist())]
            rows = [(u, s) for u, s in rows if s is not None]
            played = played_by_user([u for u, _ in rows], [s for _, s in rows])
        index = None
        if args.index:
            from keras_samplecnn.song_index import SongIndex

            index = SongIndex.load(args.index)
            if index.ids.tolist() != [str(i) for i in ids.tolist()]:
                raise ValueError(f"{args.index} indexes other songs than {args.songs} (samplecnn index {args.songs})")
        recommender = Recommender(model, ids, embeddings, played, index)
    else:
        recommender = Recommender.from_data(model, args.data)
    try:
        ranked = recommender.recommend(args.user, top_k=args.top_k, include_played=args.include_played)
    except KeyError as error:
        print(f"error: {error.args[0]}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps([{"song": song, "score": round(score, 6)} for song, score in ranked], indent=2))
    else:
        print(f"top {len(ranked)} songs for user {args.user}:")
        for song, score in ranked:
            print(f"  {score:.3f}  {song}")
    return 0


def _index(args):
    """A nearest-neighbour index of the song embeddings of a `samplecnn embed` file, or of a music folder."""
    import time

    import numpy as np

    from keras_samplecnn.song_index import SongIndex

    if os.path.isdir(args.songs):
        if not args.model:
            raise ValueError(f"{args.songs} is a folder: give --model (a .keras file or a preset name) to embed "
                             "its audio files with")  # fmt: skip
        return _index_library(args)
    if args.model:
        raise ValueError("--model goes with a LIBRARY_DIR to embed; an embeddings file is indexed as it is")
    with np.load(args.songs) as songs:
        if "track_ids" not in songs or "embeddings" not in songs:
            raise ValueError(f"{args.songs}: not a samplecnn embed file (needs track_ids and embeddings)")
        ids, embeddings = songs["track_ids"].astype(str), songs["embeddings"]
    kind = "exact" if args.exact else f"HNSW (M {args.connectivity}, efConstruction {args.expansion_add})"
    print(f"indexing {len(ids)} songs of {embeddings.shape[1]} dims, {kind} ...", flush=True)
    start = time.perf_counter()
    index = SongIndex(embeddings, ids, exact=args.exact, connectivity=args.connectivity,
                      expansion_add=args.expansion_add, expansion_search=args.expansion_search)  # fmt: skip
    index.save(args.out)
    print(f"built in {time.perf_counter() - start:.1f} s, {index.nbytes / 2**20:.0f} MiB; saved to {args.out}")
    return 0


def _index_library(args):
    """Every audio file under a folder embedded and indexed (`keras_samplecnn.library`)."""
    from keras_samplecnn.library import REJECTED, index_library

    def rejected(path, reason):
        from tqdm.auto import tqdm

        tqdm.write(f"error: {path}: {reason}", file=sys.stderr)  # above the progress bar, not through it

    result = index_library(args.songs, args.model, args.out, exact=True if args.exact else None,
                           save_every=args.save_every, progress=not args.no_progress, on_rejected=rejected,
                           connectivity=args.connectivity, expansion_add=args.expansion_add,
                           expansion_search=args.expansion_search)  # fmt: skip
    rate = f", {result.seconds / result.embedded:.2f} s per file" if result.embedded else ""
    print(f"{result.embedded} files embedded in {result.seconds:.1f} s{rate}; {result.reused} reused from an "
          f"earlier run; {len(result.rejected)} rejected (listed in {os.path.join(args.out, REJECTED)})")  # fmt: skip
    kind = "exact" if result.exact else "HNSW"
    print(f"{result.tracks} tracks of {result.dim} dims indexed ({kind}) in {args.out}; search it with: "
          f"samplecnn similar SONG --index {args.out}")  # fmt: skip
    return 1 if result.rejected else 0


def _similar(args):
    """The tracks of a library index nearest to an audio file."""
    from keras_samplecnn.library import LibraryIndex

    library = LibraryIndex(args.index)
    ranked = library.similar(args.query, top_k=args.top_k)
    if args.json:
        print(json.dumps([{"track": track, "path": os.path.join(library.root, track), "score": round(score, 6)}
                          for track, score in ranked], indent=2))  # fmt: skip
    else:
        print(f"nearest to {args.query} among {len(library.index)} tracks of {library.root} "
              f"(model {library.model}):")  # fmt: skip
        for track, score in ranked:
            print(f"  {score:.3f}  {track}")
    return 0


def _extract(args):
    from keras_samplecnn.aggregation import extract_features

    layers = args.layers if args.layers in ("top3", "all") else args.layers.split(",")
    splits = [s for s in args.splits.split(",") if s]
    result = extract_features(args.models, args.data, args.out, splits=splits, layers=layers,
                              batch_size=args.batch_size, shard_clips=args.shard_clips,
                              show_progress=not args.no_progress)  # fmt: skip
    print(f"{result['dim']} features per clip ({len(result['layers'])} layers of {len(result['extractors'])} "
          f"extractors) written to {args.out}")  # fmt: skip
    for split, run in result["run"].items():
        clips = result["splits"][split]["clips"]
        if run["status"] == "skipped":
            print(f"  {split}: {clips} clips, already extracted (checksums match)")
        else:
            rate = clips / run["seconds"] if run["seconds"] > 0 else float("inf")
            print(f"  {split}: {clips} clips in {run['seconds']:.1f} s ({rate:.1f} clips/s), "
                  f"{len(run['shards_written'])} of {len(result['splits'][split]['shards'])} shards written")  # fmt: skip
    return 0


def _convert(args):
    from tfrecords_tools.cli import main as convert_main

    return convert_main(args.rest)


def _run(args):
    from keras_samplecnn.experiments import module_of
    from keras_samplecnn.experiments.data import ExperimentError
    from keras_samplecnn.experiments.settings import list_configs

    if not args.rest or args.rest[0] in ("-h", "--help"):
        print("usage: samplecnn run CONFIG [--demo] [--data DIR] [options]\n\n"
              "Runs a paper's experiment from its config (a YAML path, or one of the packaged configs:\n  "
              + ", ".join(list_configs()) + ")\n\n`samplecnn run CONFIG --help` lists the experiment's options.")  # fmt: skip
        return 0
    config, rest = args.rest[0], args.rest[1:]
    try:
        module_of(config).main(config, argv=rest, prog=f"samplecnn run {config}")
    except ExperimentError as error:  # its text is the whole message (a download help, say)
        print(error, file=sys.stderr)
        return EXIT_BAD_INPUT
    return 0


def _visualize(args):
    from keras_samplecnn.viz.report import visualize_model

    paths = visualize_model(
        args.model,
        args.out,
        input_length=args.input_length,
        steps=args.steps,
        filters=args.filters,
        fmt=args.format,
        method=args.method,
        batch_size=args.batch_size,
        max_length=args.max_length or args.input_length,
    )
    print(f"{len(paths)} images and index.md written to {args.out}")
    return 0


def _models(args):
    from keras_samplecnn.models.registry import parameter_table

    print(parameter_table())
    return 0


def _version():
    """The installed distribution's version (keras_samplecnn.__version__), without importing Keras."""
    import importlib.metadata

    try:
        return importlib.metadata.version("keras_samplecnn")
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed)"


def build_parser():
    parser = argparse.ArgumentParser(
        prog="samplecnn", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = commands.add_parser("train", help="train from a YAML config (rerun to resume)")
    p.add_argument("config", help="YAML config, e.g. keras_samplecnn/experiments/configs/mtat_se.yaml")
    p.add_argument("--profile", action="append", default=[], metavar="YAML",
                   help="settings merged over the config, e.g. keras_samplecnn/experiments/configs/profiles/cpu.yaml")  # fmt: skip
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key")
    p.set_defaults(run=_train)

    p = commands.add_parser(
        "evaluate",
        help="clip-level metrics on a converted split: ROC-AUC / PR-AUC and the JSTSP code's thresholded "
        "accuracy, plus arg-max accuracy, macro F1 and a confusion matrix (single-label) or F1 at a "
        "threshold (multi-label)",
    )
    p.add_argument("model", help="a .keras file saved by training")
    p.add_argument("--data", required=True, help="converted TFRecords folder (with manifest.json)")
    p.add_argument("--split", default="test")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--out", help="write results.json, report.md and plots here")
    p.add_argument("--threshold", type=float,
                   help="decision threshold of the multi-label F1 and of the thresholded accuracy "
                   "(default 0.1 for DCASE 2017, else 0.5)")  # fmt: skip
    p.add_argument("--tune-on", metavar="SPLIT",
                   help="multi-label: also report F1 at per-class thresholds tuned on SPLIT (e.g. valid)")  # fmt: skip
    p.add_argument("--reader", choices=READERS, default="auto",
                   help="who reads the shards: tf_data, portable (NumPy, no TensorFlow), or auto: tf_data "
                   "where TensorFlow is installed (the same scores either way)")  # fmt: skip
    p.set_defaults(run=_evaluate)

    for name, helptext, run in (
        ("tag", "top tags of audio files", _tag),
        ("embed", "clip embeddings (features before the head; 256-d for artist models) of audio files or of a "
                  "converted folder (with track ids)", _embed),
    ):
        p = commands.add_parser(name, help=helptext)
        p.add_argument("files", nargs="+" if name == "tag" else "*", metavar="FILE")
        p.add_argument("--model", required=True, help="a .keras file saved by training (an artist model too), "
                       "or a pretrained preset name (e.g. ismir2018_siamese_msd10k)" + (
            "; or a samplecnn export folder (saved_model, onnx, litert)" if name == "tag" else ""))  # fmt: skip
        if name == "tag":
            p.add_argument("--trust-export", action="store_true",
                           help="run a samplecnn export's graph (its ops run as code: only exports you made "
                           "or trust); .keras files need no flag")  # fmt: skip
            p.add_argument("--top-k", type=int, default=10)
            p.add_argument("--json", action="store_true", help="print JSON instead of a list")
        else:
            p.add_argument("--out", help="write an .npz (paths, embeddings) instead of printing JSON")
            p.add_argument("--data", help="instead of FILEs: every clip of a converted folder; the .npz "
                                          "then holds track_ids, embeddings, splits and labels")  # fmt: skip
            p.add_argument("--splits", default="train,valid,test", help="with --data: comma-separated splits")
        p.set_defaults(run=run)

    p = commands.add_parser("recommend", help="a user's top songs from a trained DCUE model (DLRS 2018)")
    p.add_argument("files", nargs="*", metavar="FILE", help="audio files as the catalogue (or --data / --songs)")
    p.add_argument("--model", required=True, help="a DCUE .keras file (recipes/dcue.py)")
    p.add_argument("--user", required=True, help="a user id the model was trained on")
    p.add_argument("--data", help="a folder converted by tfrecords_tools taste-profile: its songs are the "
                                  "catalogue, and what the user played there is left out")  # fmt: skip
    p.add_argument("--songs", help="song embeddings from samplecnn embed --data (track_ids, embeddings)")
    p.add_argument("--index", help="with --songs: search this samplecnn index folder instead of every song")
    p.add_argument("--top-k", type=int, default=10)
    p.add_argument("--include-played", action="store_true", help="keep songs the user already played")
    p.add_argument("--json", action="store_true", help="print JSON instead of a list")
    p.set_defaults(run=_recommend)

    p = commands.add_parser("index", help="a nearest-neighbour index of song embeddings (for samplecnn "
                                          "recommend --index) or of a music folder, embedded here (for "
                                          "samplecnn similar); exit 1 when some files could not be used")  # fmt: skip
    p.add_argument("songs", metavar="SONGS.npz|LIBRARY_DIR",
                   help="song embeddings from samplecnn embed (track_ids, embeddings), or a folder of audio "
                   "files (any depth, every format libsndfile decodes; hidden files skipped) to embed with "
                   "--model; the ids are the paths relative to it")  # fmt: skip
    p.add_argument("--out", required=True, help="folder for the index; with a LIBRARY_DIR also the embeddings "
                   "saved so far (rerun to resume, or to add new songs), library.json (the model, the "
                   "library root, the embedding size) and rejected.csv (path,reason)")  # fmt: skip
    p.add_argument("--model", help="with a LIBRARY_DIR: a .keras file or a pretrained preset name (e.g. "
                   "ismir2018_siamese_msd10k); a rerun into the same --out must use the same model")  # fmt: skip
    p.add_argument("--save-every", type=int, default=32, metavar="N",
                   help="with a LIBRARY_DIR: save the embeddings after every N files (default 32)")  # fmt: skip
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--exact", action="store_true", help="brute-force search instead of an HNSW graph (with a "
                   "LIBRARY_DIR the default up to 100 000 tracks)")  # fmt: skip
    p.add_argument("--connectivity", type=int, default=16, help="HNSW links per node (faiss M)")
    p.add_argument("--expansion-add", type=int, default=128, help="HNSW build candidate list (efConstruction)")
    p.add_argument("--expansion-search", type=int, default=128, help="HNSW search candidate list (efSearch)")
    p.set_defaults(run=_index)

    p = commands.add_parser("similar", help="the tracks of a samplecnn index LIBRARY_DIR folder most similar "
                                            "(cosine) to an audio file")  # fmt: skip
    p.add_argument("query", metavar="QUERY", help="an audio file, embedded with the model the index was built with")
    p.add_argument("--index", required=True, help="a folder written by samplecnn index LIBRARY_DIR --model MODEL")
    p.add_argument("--top-k", type=int, default=10, help="tracks to list (default 10)")
    p.add_argument("--json", action="store_true",
                   help="print JSON (track relative to the library, path, score) instead of a list")  # fmt: skip
    p.set_defaults(run=_similar)

    p = commands.add_parser(
        "extract",
        help="multi-level / multi-scale features of every clip from trained models (Lee & Nam, SPL 2017), "
        "cached as .npz shards",
    )
    p.add_argument("models", nargs="+", metavar="MODEL", help=".keras files; input lengths may differ")
    p.add_argument("--data", required=True, help="converted TFRecords folder (with manifest.json)")
    p.add_argument("--out", required=True, help="feature cache folder (rerun to resume)")
    p.add_argument("--layers", default="top3",
                   help="top3 (last three blocks), all (every block) or comma-separated layer names")  # fmt: skip
    p.add_argument("--splits", default="train,valid,test", help="comma-separated split names")
    p.add_argument("--batch-size", type=int, default=64, help="segments per forward pass")
    p.add_argument("--shard-clips", type=int, default=512, help="clips per .npz shard")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(run=_extract)

    p = commands.add_parser("convert", help="convert a dataset to TFRecords (python -m tfrecords_tools)",
                            add_help=False)  # fmt: skip
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(run=_convert)

    p = commands.add_parser("run", help="run a paper's experiment from its config: samplecnn run mtat_se --demo",
                            add_help=False)  # fmt: skip
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(run=_run)

    p = commands.add_parser("visualize", help="filter spectra of every layer, sorted by peak frequency")
    p.add_argument("model", help="a .keras file saved by training")
    p.add_argument("--out", required=True, help="folder for the images and index.md")
    p.add_argument(
        "--input-length", type=int, default=729, help="probe length in samples (729 as in the papers)"
    )
    p.add_argument("--steps", type=int, default=18, help="gradient-ascent steps (18 as in the papers)")
    p.add_argument("--filters", type=int, default=64, help="at most this many filters per layer")
    p.add_argument("--format", choices=("png", "svg"), default="png")
    p.add_argument(
        "--method",
        choices=("robust", "paper"),
        default="robust",
        help="robust: keep each filter's best input, smoothed spectra (default); "
        "paper: SMC 2017's exact recipe (18 unit steps, log10(1 + 10|X|^2) of one frame)",
    )
    p.add_argument("--batch-size", type=int, help="filters optimised together (default: bounded by memory)")
    p.add_argument(
        "--max-length",
        type=int,
        help="also probe deeper layers whose receptive field is at most this many samples, with their "
        "receptive field (default: --input-length, the layers a 729-sample probe covers; 59049 probes all "
        "of the 3^9 model, minutes instead of seconds)",
    )
    p.set_defaults(run=_visualize)

    p = commands.add_parser("export", help="a SavedModel, ONNX or LiteRT model taking a waveform of any "
                                           "length and giving clip-level tag scores, with a model.json "
                                           "sidecar")  # fmt: skip
    p.add_argument("model", help="a .keras tagging model (SampleCNN or artist classifier)")
    p.add_argument("--format", choices=("saved_model", "onnx", "litert"), default="saved_model",
                   help="onnx and litert need pip install 'keras_samplecnn[export]'")  # fmt: skip
    p.add_argument("--out", required=True, help="folder for the model and its model.json")
    p.set_defaults(run=_export)

    p = commands.add_parser("data-service", help="a tf.data service dispatcher or worker that runs the "
                                                 "training batches' preprocessing (data.service in a config)")  # fmt: skip
    p.add_argument("role", choices=("dispatcher", "worker"))
    p.add_argument("--port", type=int, required=True, help="the port to serve on")
    p.add_argument("--worker", action="append", default=[], metavar="HOST:PORT",
                   help="dispatcher: every worker's address, in order (repeat the option)")  # fmt: skip
    p.add_argument("--work-dir", help="dispatcher: journal folder, so a restarted dispatcher resumes its jobs")
    p.add_argument("--dispatcher", metavar="HOST:PORT", help="worker: the dispatcher's address")
    p.add_argument("--address", metavar="HOST:PORT",
                   help="worker: the address the dispatcher knows it by (default localhost:PORT)")  # fmt: skip
    p.add_argument("--allow-open-port", action="store_true",
                   help="required: the server listens on every network interface, plaintext and "
                   "unauthenticated (anyone reaching the port runs tf.data graphs as you); firewall it")  # fmt: skip
    p.set_defaults(run=_data_service)

    p = commands.add_parser("models", help="the model zoo with parameter counts")
    p.set_defaults(run=_models)
    return parser


def _data_service(args):
    from keras_samplecnn.data import service

    if args.role == "dispatcher":
        if not args.worker:
            print("error: a dispatcher needs --worker HOST:PORT for every worker", file=sys.stderr)
            return 2
    elif not args.dispatcher:
        print("error: a worker needs --dispatcher HOST:PORT", file=sys.stderr)
        return 2
    try:
        if args.role == "dispatcher":
            server = service.start_dispatcher(args.port, args.worker, work_dir=args.work_dir,
                                              allow_open_port=args.allow_open_port)  # fmt: skip
            workers = ", ".join(args.worker)
            what = f"dispatcher for workers {workers} (trainers: data.service grpc://THIS_HOST:{args.port})"
        else:
            server = service.start_worker(args.dispatcher, args.port, args.address,
                                          allow_open_port=args.allow_open_port)  # fmt: skip
            what = f"worker {args.address or f'localhost:{args.port}'} of dispatcher {args.dispatcher}"
    except service.OpenPortError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"{what}; listening on 0.0.0.0:{args.port}", flush=True)
    print(f"warning: this server {service.EXPOSURE}", file=sys.stderr, flush=True)
    server.join()  # serves until the process is stopped
    return 0


def _export(args):
    from keras_samplecnn.export import SIDECAR, export_model

    try:
        path = export_model(args.model, args.out, format=args.format)
    except ImportError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"{args.format} written to {path}, contract and tags in {os.path.join(args.out, SIDECAR)}")
    return 0


# Exit codes of an expected failure (the module docstring and docs/cli.md list them).
EXIT_BAD_INPUT = 2
EXIT_SYSTEM = 3  # as python -m tfrecords_tools
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report Ctrl-C


def main(argv=None):
    """Runs the command line; returns the exit code (see the module docstring).

    An expected failure (bad input, a corrupt file, the system refusing, Ctrl-C) is one
    `error: ...` line on stderr and its exit code; anything else is a bug and keeps its traceback.

    Args:
        argv: the arguments (default `sys.argv[1:]`).
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] in (["convert"], ["run"]):
        # Everything after `convert` / `run` is the converter's or experiment's, --help included:
        # argparse's REMAINDER does not take an option as its first word.
        args = argparse.Namespace(run=_convert if argv[0] == "convert" else _run, rest=argv[1:])
    else:
        args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:
        code, message = _expected_failure(error)
        if code is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        return code


def _expected_failure(error):
    """`(exit code, one-line message)` of an expected failure, `(None, None)` for anything else.

    TensorFlow's and PyYAML's errors are recognised by their class, without importing either.
    """
    names = {(cls.__module__.split(".")[0], cls.__name__) for cls in type(error).__mro__}
    if ("tensorflow", "DataLossError") in names:
        message = one_line(getattr(error, "message", error))
        hint = "python -m tfrecords_tools verify DATA names the file"
        return EXIT_BAD_INPUT, f"corrupt data: {message} ({hint})"
    if ("tensorflow", "NotFoundError") in names:
        return EXIT_BAD_INPUT, one_line(getattr(error, "message", error))
    if ("tensorflow", "PermissionDeniedError") in names:
        return EXIT_SYSTEM, one_line(getattr(error, "message", error))
    if any(module == "yaml" for module, _ in names):
        return EXIT_BAD_INPUT, f"not valid YAML: {one_line(error)}"
    if isinstance(error, (FileNotFoundError, NotADirectoryError, IsADirectoryError)):
        return EXIT_BAD_INPUT, one_line(error)  # a path given that is not there: bad input
    if isinstance(error, OSError):
        return EXIT_SYSTEM, one_line(error)  # permission denied, disk full, I/O error
    # ConfigError, a model that is not ours, mismatched tags, an empty split, bad text or JSON, ...
    if isinstance(error, ValueError):
        return EXIT_BAD_INPUT, one_line(error)
    return None, None



def console_main():
    """The `samplecnn` command: `main` with TensorFlow's native log chatter filtered out."""
    from keras_samplecnn.quiet import filter_native_logs

    filter_native_logs()
    return main()


if __name__ == "__main__":
    sys.exit(console_main())
