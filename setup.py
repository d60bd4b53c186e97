"""Installs keras_samplecnn and tfrecords_tools (metadata lives in pyproject.toml)."""
from setuptools import setup

setup()
