//! The many-table project (`--many-tables`): the sample project plus a generated `cms`
//! app, about 80 tables in all like a Django site with admin, auth and a CMS, most of them
//! under 100 rows and four large ones.
//!
//! [`add_cms_app`] writes `cms/` (models.py generated here: 56 models of realistic field
//! mixes with foreign keys to earlier models and to `auth.User`, and 6 many-to-many fields
//! whose through tables Django makes), appends it to `INSTALLED_APPS` and runs
//! `makemigrations cms`; `generate_data.py`'s own `migrate` then creates its tables in the
//! SQLite file. [`fill_cms`] fills them through Django's ORM (`bulk_create`), foreign keys
//! pointing at existing rows. Everything is deterministic: same `--rows`, same data.

use anyhow::{Context, Result};
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

/// (model, its parents: earlier models or "User"). Order matters: a model only points back.
const MODELS: &[(&str, &[&str])] = &[
    ("Site", &[]),
    ("Locale", &[]),
    ("Category", &["Site"]),
    ("Tag", &[]),
    ("Author", &["User"]),
    ("Page", &["Site", "User"]),
    ("PageRevision", &["Page", "User"]),
    ("PageTranslation", &["Page", "Locale"]),
    ("Article", &["Category", "Author"]),
    ("ArticleRevision", &["Article", "User"]),
    ("Comment", &["Article", "User"]),
    ("CommentFlag", &["Comment", "User"]),
    ("MediaFolder", &["Site"]),
    ("MediaFile", &["MediaFolder", "User"]),
    ("Gallery", &["Site"]),
    ("Menu", &["Site"]),
    ("MenuItem", &["Menu", "Page"]),
    ("Redirect", &["Site"]),
    ("Snippet", &["Locale"]),
    ("FormDefinition", &["Site"]),
    ("FormField", &["FormDefinition"]),
    ("FormSubmission", &["FormDefinition"]),
    ("NewsletterList", &["Site"]),
    ("Subscriber", &[]),
    ("Campaign", &["NewsletterList", "User"]),
    ("CampaignLink", &["Campaign"]),
    ("Venue", &[]),
    ("Event", &["Venue", "Category"]),
    ("TicketType", &["Event"]),
    ("Product", &["Category"]),
    ("ProductVariant", &["Product"]),
    ("PriceRule", &["ProductVariant"]),
    ("Coupon", &[]),
    ("Customer", &["User"]),
    ("Address", &["Customer"]),
    ("Order", &["Customer", "Coupon"]),
    ("OrderLine", &["Order", "ProductVariant"]),
    ("Payment", &["Order"]),
    ("Shipment", &["Order", "Address"]),
    ("Review", &["Product", "Customer"]),
    ("SiteSetting", &["Site"]),
    ("ApiKey", &["User"]),
    ("Webhook", &["Site"]),
    ("WebhookDelivery", &["Webhook"]),
    ("SearchTerm", &["Site"]),
    ("Banner", &["Site", "MediaFile"]),
    ("Faq", &["Category"]),
    ("JobPosting", &["Site"]),
    ("JobApplication", &["JobPosting"]),
    ("Testimonial", &["Customer"]),
    ("Team", &[]),
    ("TeamMember", &["Team", "User"]),
    ("Workflow", &[]),
    ("WorkflowTask", &["Workflow", "Page"]),
    ("Notification", &["User"]),
    ("AuditEntry", &["User"]),
];

/// (model, field, target): Django makes a through table for each.
const MANY_TO_MANY: &[(&str, &str, &str)] = &[
    ("Page", "categories", "Category"),
    ("Article", "tags", "Tag"),
    ("Gallery", "images", "MediaFile"),
    ("Subscriber", "lists", "NewsletterList"),
    ("Event", "speakers", "Author"),
    ("Product", "tags", "Tag"),
];

/// The large tables, with their size as a share of `--rows`, which grows up to
/// [`LARGE_CAP`]: from `--rows 20000` up they have 20k, 10k, 8k and 5k rows, so that the
/// ORM fills them in a few seconds and the project stays one of many small tables.
const LARGE: &[(&str, f64)] = &[
    ("AuditEntry", 1.0),
    ("PageRevision", 0.5),
    ("Comment", 0.4),
    ("FormSubmission", 0.25),
];

/// `--rows` beyond this does not make the cms tables larger (only the sample's).
const LARGE_CAP: usize = 20_000;

/// Column kinds a model draws from, as Django field declarations.
const FIELD_MIX: &[(&str, &str)] = &[
    ("body", "models.TextField(blank=True)"),
    ("position", "models.IntegerField(default=0)"),
    ("is_published", "models.BooleanField(default=False)"),
    (
        "published_at",
        "models.DateTimeField(null=True, blank=True)",
    ),
    (
        "price",
        "models.DecimalField(max_digits=10, decimal_places=2, default=0)",
    ),
    ("extra", "models.JSONField(default=dict, blank=True)"),
    (
        "public_id",
        "models.UUIDField(default=uuid.uuid4, unique=True, editable=False)",
    ),
    ("summary", "models.CharField(max_length=255, blank=True)"),
    ("weight", "models.PositiveSmallIntegerField(default=1)"),
    ("updated_at", "models.DateTimeField(auto_now=True)"),
    ("email", "models.EmailField(blank=True)"),
    ("url", "models.URLField(blank=True)"),
    ("starts_on", "models.DateField(null=True, blank=True)"),
    ("score", "models.FloatField(null=True, blank=True)"),
    (
        "is_active",
        "models.BooleanField(default=True, db_index=True)",
    ),
    ("counter", "models.BigIntegerField(default=0)"),
];

/// A small deterministic generator (xorshift), so the schema never changes between runs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn snake(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.extend(c.to_lowercase());
    }
    out
}

/// The text of `cms/models.py`.
fn models_py() -> String {
    let mut py = String::from(
        "\"\"\"A CMS app generated by dj2pg's copy benchmark (benches/copy/manytables.rs).\"\"\"\n\
         import uuid\n\nfrom django.conf import settings\nfrom django.db import models\n",
    );
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for (i, (name, parents)) in MODELS.iter().enumerate() {
        let _ = write!(py, "\n\nclass {name}(models.Model):\n");
        let _ = writeln!(
            py,
            "    title = models.CharField(max_length={})",
            80 + 20 * (i % 5)
        );
        if i % 3 == 0 {
            let _ = writeln!(
                py,
                "    slug = models.SlugField(max_length=120, unique=True)"
            );
        }
        let _ = writeln!(py, "    created_at = models.DateTimeField()");
        for (p, parent) in parents.iter().enumerate() {
            let null = if p > 0 { "null=True, blank=True, " } else { "" };
            let on_delete = if p > 0 { "SET_NULL" } else { "CASCADE" };
            let (target, field) = if *parent == "User" {
                (
                    "settings.AUTH_USER_MODEL".to_string(),
                    if p == 0 {
                        "user".to_string()
                    } else {
                        "owner".to_string()
                    },
                )
            } else {
                (parent.to_string(), snake(parent))
            };
            let _ = writeln!(
                py,
                "    {field} = models.ForeignKey({target}, {null}on_delete=models.{on_delete}, related_name='+')"
            );
        }
        let extra = 3 + rng.below(5) as usize;
        let mut taken = Vec::new();
        while taken.len() < extra {
            let f = rng.below(FIELD_MIX.len() as u64) as usize;
            if !taken.contains(&f) {
                taken.push(f);
            }
        }
        taken.sort_unstable();
        for f in taken {
            let (field, decl) = FIELD_MIX[f];
            let _ = writeln!(py, "    {field} = {decl}");
        }
        for (model, field, target) in MANY_TO_MANY.iter().filter(|m| m.0 == *name) {
            let _ = model;
            let _ = writeln!(
                py,
                "    {field} = models.ManyToManyField({target}, blank=True, related_name='+')"
            );
        }
    }
    py
}

/// Rows per model: the large ones scaled by `rows`, the others 5–100.
fn sizes_json(rows: usize) -> String {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let sizes: Vec<String> = MODELS
        .iter()
        .map(|(name, _)| {
            let n = match LARGE.iter().find(|l| l.0 == *name) {
                Some((_, share)) => ((rows.min(LARGE_CAP) as f64 * share) as u64).max(100),
                None => 5 + rng.below(96),
            };
            format!("\"{name}\": {n}")
        })
        .collect();
    format!("{{{}}}\n", sizes.join(", "))
}

/// Fills the cms tables through the ORM; run with the project's Python.
const FILL_PY: &str = r#"
import datetime as dt, json, os, random, sys, uuid
from decimal import Decimal

PROJECT_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, PROJECT_DIR)
os.environ['DJANGO_SETTINGS_MODULE'] = 'aiproto.settings'
import django
from django.conf import settings

settings.DATABASES['default'] = {'ENGINE': 'django.db.backends.sqlite3', 'NAME': sys.argv[1]}
django.setup()
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import models, transaction

call_command('migrate', verbosity=0, interactive=False)  # a no-op after generate_data.py
SIZES = json.load(open(os.path.join(PROJECT_DIR, 'cms', 'bench_sizes.json')))
rng = random.Random(7)
BASE = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
WORDS = 'news page blog team price event menu home about contact offer café 😀 naïve'.split()

def text(k):
    return ' '.join(rng.choices(WORDS, k=k))

def value(f, i):
    if f.null and rng.random() < 0.1:
        return None
    if isinstance(f, models.SlugField):
        return 'item-%d' % i
    if isinstance(f, models.EmailField):
        return 'user%d@example.com' % i
    if isinstance(f, models.URLField):
        return 'https://example.com/p/%d' % i
    if isinstance(f, models.CharField):
        return text(3)[:f.max_length]
    if isinstance(f, models.TextField):
        return text(rng.randint(5, 60))
    if isinstance(f, models.BooleanField):
        return rng.random() < 0.5
    if isinstance(f, models.DateTimeField):
        return BASE + dt.timedelta(seconds=rng.randrange(86400 * 365), microseconds=rng.randrange(10**6))
    if isinstance(f, models.DateField):
        return dt.date(2024, 1, 1) + dt.timedelta(days=rng.randrange(365))
    if isinstance(f, models.DecimalField):
        return Decimal(rng.randrange(100000)) / 100
    if isinstance(f, models.JSONField):
        return {'k': i, 'tags': rng.sample(WORDS, 2)}
    if isinstance(f, models.UUIDField):
        return uuid.UUID(int=rng.getrandbits(128), version=4)
    if isinstance(f, models.PositiveSmallIntegerField):
        return rng.randrange(1000)
    if isinstance(f, models.BigIntegerField):
        return rng.randrange(-2**62, 2**62)
    if isinstance(f, models.IntegerField):
        return rng.randrange(-1000, 100000)
    if isinstance(f, models.FloatField):
        return rng.uniform(-1e6, 1e6)
    raise SystemExit('fill_cms.py: no value for %s.%s (%s)' % (f.model.__name__, f.name, type(f).__name__))

pks = {get_user_model(): list(get_user_model().objects.values_list('pk', flat=True))}
total = 0
with transaction.atomic():
    for model in apps.get_app_config('cms').get_models():
        n = SIZES[model.__name__]
        fields = [f for f in model._meta.concrete_fields if not f.primary_key]
        objs = []
        for i in range(n):
            kw = {}
            for f in fields:
                if f.is_relation:
                    kw[f.attname] = None if f.null and rng.random() < 0.2 else rng.choice(pks[f.related_model])
                else:
                    kw[f.attname] = value(f, i)
            objs.append(model(**kw))
        model.objects.bulk_create(objs, batch_size=2000)
        pks[model] = list(model.objects.values_list('pk', flat=True))
        total += n
    for model in apps.get_app_config('cms').get_models():
        for f in model._meta.many_to_many:
            through = f.remote_field.through
            src = f.m2m_field_name() + '_id'
            dst = f.m2m_reverse_field_name() + '_id'
            targets = pks[f.related_model]
            rows = []
            for pk in pks[model]:
                for t in rng.sample(targets, min(len(targets), rng.randint(0, 3))):
                    rows.append(through(**{src: pk, dst: t}))
            through.objects.bulk_create(rows, batch_size=2000)
            total += len(rows)
print('cms: %d rows' % total)
"#;

/// Write the `cms` app into `project`, add it to `INSTALLED_APPS` and make its migration.
pub fn add_cms_app(project: &Path, python: &Path, rows: usize) -> Result<()> {
    let app = project.join("cms");
    std::fs::create_dir_all(app.join("migrations"))?;
    std::fs::write(app.join("__init__.py"), "")?;
    std::fs::write(app.join("migrations").join("__init__.py"), "")?;
    std::fs::write(
        app.join("apps.py"),
        "from django.apps import AppConfig\n\n\nclass CmsConfig(AppConfig):\n    \
         default_auto_field = 'django.db.models.BigAutoField'\n    name = 'cms'\n",
    )?;
    std::fs::write(app.join("models.py"), models_py())?;
    std::fs::write(app.join("bench_sizes.json"), sizes_json(rows))?;
    std::fs::write(project.join("fill_cms.py"), FILL_PY)?;
    let settings = project.join("aiproto").join("settings.py");
    let mut text = std::fs::read_to_string(&settings)
        .with_context(|| format!("read {}", settings.display()))?;
    text.push_str("\n# Added by the copy benchmark (--many-tables).\nINSTALLED_APPS += ['cms']\n");
    std::fs::write(&settings, text)?;
    crate::checked(
        Command::new(python)
            .args(["manage.py", "makemigrations", "cms", "--noinput"])
            .current_dir(project),
        "manage.py makemigrations cms",
    )
}

/// Fill the cms tables of `db` (already migrated by generate_data.py) through the ORM.
pub fn fill_cms(project: &Path, python: &Path, db: &Path) -> Result<()> {
    crate::checked(
        Command::new(python)
            .arg("fill_cms.py")
            .arg(db)
            .current_dir(project),
        "fill_cms.py",
    )
}
