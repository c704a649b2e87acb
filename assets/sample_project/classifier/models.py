"""Models of a small sentiment-classification prototype.

Between them they cover every column type Django writes to SQLite: text,
integers of several widths, floats, decimals, booleans, dates, times,
datetimes, durations, UUIDs, JSON, binary blobs, IP addresses, foreign keys
(including a self-reference), a one-to-one and a many-to-many.
"""
import uuid

from django.conf import settings
from django.db import models


class Dataset(models.Model):
    name = models.CharField(max_length=100, unique=True)
    description = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    is_public = models.BooleanField(default=False)
    source_url = models.URLField(null=True, blank=True)
    maintainers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name='maintained_datasets'
    )

    def __str__(self):
        return self.name


class Label(models.Model):
    name = models.CharField(max_length=50)
    color = models.CharField(max_length=7, default='#888888')

    def __str__(self):
        return self.name


class TrainingExample(models.Model):
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name='examples')
    text = models.TextField()
    label = models.ForeignKey(Label, on_delete=models.SET_NULL, null=True, blank=True)
    weight = models.FloatField(default=1.0)
    added_on = models.DateField()
    reviewed_at = models.DateTimeField(null=True, blank=True)
    token_count = models.IntegerField(default=0)
    annotator_ip = models.GenericIPAddressField(null=True, blank=True)
    meta = models.JSONField(default=dict, blank=True)

    def __str__(self):
        return self.text[:40]


class ModelVersion(models.Model):
    uuid = models.UUIDField(unique=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100)
    params = models.JSONField()
    metrics = models.JSONField(null=True, blank=True)
    training_duration = models.DurationField()
    accuracy = models.DecimalField(max_digits=6, decimal_places=4)
    trained_at = models.DateTimeField()
    weights_blob = models.BinaryField(null=True, blank=True)
    parent = models.ForeignKey(
        'self', on_delete=models.SET_NULL, null=True, blank=True, related_name='children'
    )
    is_active = models.BooleanField(default=False)
    datasets = models.ManyToManyField(Dataset, blank=True, related_name='model_versions')

    def __str__(self):
        return f'{self.name} ({self.uuid})'


class Prediction(models.Model):
    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name='predictions')
    example = models.ForeignKey(TrainingExample, on_delete=models.SET_NULL, null=True, blank=True)
    input_text = models.TextField()
    predicted_label = models.ForeignKey(Label, on_delete=models.SET_NULL, null=True, blank=True)
    score = models.FloatField()
    confidence = models.DecimalField(max_digits=5, decimal_places=4)
    latency_ms = models.PositiveIntegerField()
    served_at = models.DateTimeField()
    request_id = models.UUIDField(default=uuid.uuid4)
    big_counter = models.BigIntegerField(default=0)
    small_rank = models.SmallIntegerField(default=0)

    def __str__(self):
        return f'prediction {self.pk} by {self.model_version_id}'


class Embedding(models.Model):
    example = models.OneToOneField(TrainingExample, on_delete=models.CASCADE, related_name='embedding')
    vector_json = models.JSONField(help_text='list of floats')
    vector_blob = models.BinaryField(help_text='packed little-endian float32')
    dim = models.PositiveSmallIntegerField()

    def __str__(self):
        return f'embedding of example {self.example_id} (dim {self.dim})'


class Feedback(models.Model):
    prediction = models.ForeignKey(Prediction, on_delete=models.CASCADE, related_name='feedback')
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    correct = models.BooleanField(null=True)
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField()
    review_time = models.TimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = 'feedback'

    def __str__(self):
        return f'feedback on {self.prediction_id}'
