from django.contrib import admin

from .models import (
    Dataset,
    Embedding,
    Feedback,
    Label,
    ModelVersion,
    Prediction,
    TrainingExample,
)


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = ('name', 'is_public', 'created_at')
    search_fields = ('name', 'description')
    filter_horizontal = ('maintainers',)


@admin.register(Label)
class LabelAdmin(admin.ModelAdmin):
    list_display = ('name', 'color')


@admin.register(TrainingExample)
class TrainingExampleAdmin(admin.ModelAdmin):
    list_display = ('id', 'dataset', 'label', 'weight', 'added_on', 'token_count')
    list_filter = ('dataset', 'label')
    search_fields = ('text',)


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ('name', 'uuid', 'accuracy', 'trained_at', 'is_active')
    list_filter = ('is_active',)
    filter_horizontal = ('datasets',)


@admin.register(Prediction)
class PredictionAdmin(admin.ModelAdmin):
    list_display = ('id', 'model_version', 'predicted_label', 'score', 'confidence', 'served_at')
    list_filter = ('model_version',)
    raw_id_fields = ('example',)


@admin.register(Embedding)
class EmbeddingAdmin(admin.ModelAdmin):
    list_display = ('id', 'example', 'dim')
    raw_id_fields = ('example',)


@admin.register(Feedback)
class FeedbackAdmin(admin.ModelAdmin):
    list_display = ('id', 'prediction', 'user', 'correct', 'created_at')
    raw_id_fields = ('prediction',)
