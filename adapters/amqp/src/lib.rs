//! AMQP 0-9-1 in and out: a consumer that acks only what is stored, a confirming publisher.
