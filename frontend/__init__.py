"""Streamlit frontend of visionq: `streamlit run frontend/Home.py`. Talks to the gateway over HTTP only."""
