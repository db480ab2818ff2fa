"""Relevance to US–Japan technology cooperation, topics, and the evidence for both."""

from bot.classify.classifier import Classifier
from bot.classify.taxonomy import Taxonomy

__all__ = ["Classifier", "Taxonomy"]
