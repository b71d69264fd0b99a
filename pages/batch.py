"""Placeholder until this page lands."""

import streamlit as st

st.title("batch")
st.info("This page is being built.")
