use super::*;

const MODELS: &str = "from django.db import models\n\n\nclass Example(models.Model):\n    text = models.TextField()\n\n\nclass Embedding(models.Model):\n    example = models.ForeignKey(Example, on_delete=models.CASCADE)\n    vector = models.JSONField(help_text='list of floats, (384)', default=list)\n    blob = models.BinaryField(\n        null=True,\n        editable=True,\n    )\n\n    def __str__(self):\n        return 'x'\n";

fn change(field: &str, kind: VecKind, dim: usize, source: Source) -> Change {
    Change {
        app_label: "ml".into(),
        model: "Embedding".into(),
        field: field.into(),
        kind,
        dim,
        index: Some(Metric::Cosine),
        source,
    }
}

#[test]
fn fields_are_rewritten_with_their_arguments_kept() {
    let a = change("vector", VecKind::Vector, 384, Source::Json);
    let b = change("blob", VecKind::Half, 1536, Source::Blob(BlobWidth::F32));
    let edit = rewrite_models(MODELS, &[&a, &b]).unwrap();
    assert!(
        edit.text.contains(
            "    vector = VectorField(dimensions=384, help_text='list of floats, (384)')\n"
        )
    );
    assert!(
        edit.text
            .contains("    blob = HalfVectorField(dimensions=1536, null=True)\n")
    );
    assert!(edit.text.starts_with(
        "from django.db import models\nfrom pgvector.django import HalfVectorField, VectorField\n"
    ));
    assert!(
        edit.text.contains("    text = models.TextField()\n"),
        "other models untouched"
    );
    assert_eq!(edit.old_types, ["jsonb", "bytea"]);
    assert_eq!(
        edit.dropped,
        [
            "Embedding.vector: default=list",
            "Embedding.blob: editable=True"
        ]
    );
    let m = migration("ml", Some("0001_initial"), &[&a, &b], &edit);
    assert!(m.contains("('ml', '0001_initial'),"));
    assert!(m.contains(
        "('embedding', 'blob', 'halfvec(1536)', 'bytea', '<f', 'hnsw', 'halfvec_cosine_ops'),"
    ));
    assert!(m.contains(
        "field=pgvector.django.VectorField(dimensions=384, help_text='list of floats, (384)'),"
    ));
}

#[test]
fn dimension_limits_are_explained() {
    let mut c = change("vector", VecKind::Vector, 3072, Source::Json);
    let e = c.check().unwrap_err().to_string();
    assert!(
        e.contains("at most 2000 dimensions") && e.contains("choose halfvec"),
        "{e}"
    );
    c.kind = VecKind::Half;
    assert!(c.check().is_ok());
    c.dim = 5000;
    assert!(
        c.check()
            .unwrap_err()
            .to_string()
            .contains("choose no index")
    );
    c.index = None;
    assert!(c.check().is_ok());
}

#[test]
fn an_unusual_definition_is_left_to_the_user() {
    let c = change("vector", VecKind::Vector, 384, Source::Json);
    let e = rewrite_models(
        "class Embedding(Base):\n    vector = ArrayField(models.FloatField())\n",
        &[&c],
    );
    assert!(e.err().unwrap().to_string().contains("change it by hand"));
}
