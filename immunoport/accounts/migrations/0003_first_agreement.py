from django.db import migrations

TEXT = """By signing in you agree to use data from this repository only as follows.

1. Research use. You will use the data for research and education only, and you will not use it to diagnose or treat any person.

2. No re-identification. You will not try to identify, contact or learn more about any study participant, and you will not link the data with other data for that purpose. If you learn a participant's identity by accident, you will tell the repository's staff and keep it to yourself.

3. Private data. Data in a workspace you belong to is confidential to that workspace until its providers share it. You will not copy it elsewhere or show it to anyone outside the workspace.

4. Security. You will keep your password, second factor and API tokens to yourself and store downloaded data securely.

5. Credit. When you publish work that uses shared data, you will cite each study by its accession and the data release you used, and acknowledge the providers and the funders named on the study.

6. Responsibility. Data is provided as it is, without warranty. Breaking these terms may end your access and may be reported to your institution.

We record every acceptance of this agreement with its version and time."""


def publish(apps, schema_editor):
    DataUseAgreement = apps.get_model("accounts", "DataUseAgreement")
    DataUseAgreement.objects.get_or_create(
        version=1, defaults={"title": "Data-use agreement", "text": TEXT}
    )


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_profile_agreement_audit")]
    operations = [migrations.RunPython(publish, migrations.RunPython.noop)]
