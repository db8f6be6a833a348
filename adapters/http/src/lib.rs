//! HTTP in and out: a REST service that stores what it is sent, an operation that posts.
