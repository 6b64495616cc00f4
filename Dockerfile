# One image for web, worker, beat and the collector (different commands).
FROM python:3.11-slim
# Fail closed: a container started without secrets refuses to start rather than run the dev profile.
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DJANGO_SETTINGS_MODULE=soc.settings SOC_PROFILE=production
WORKDIR /app
# DejaVu carries the Vietnamese diacritics for the PDF reports (readiness, incidents/report.py).
RUN apt-get update && apt-get install -y --no-install-recommends fonts-dejavu-core && rm -rf /var/lib/apt/lists/*
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
# collectstatic under the production profile, which writes the hashed names and manifest that production serves;
# the key and host exist for this build step only.
RUN DJANGO_SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(60))')" DJANGO_ALLOWED_HOSTS=build \
    python manage.py collectstatic --noinput \
 && useradd --system --uid 10001 soc && mkdir -p /app/media && chown soc /app/media
USER soc
EXPOSE 8000
# HTTP and WebSockets on one port, one process per core (SOC_WEB_WORKERS), sync views in threads: soc/serve.py.
CMD ["python", "-m", "soc.serve", "--host", "0.0.0.0", "--port", "8000", "--proxy-headers"]
